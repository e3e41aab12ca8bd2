package io.repl.agent;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;

/**
 * What systemd does for a {@code Type=notify} service, for tests: a unix datagram socket (a
 * path or an {@code @abstract} name) whose datagrams are queued as strings.
 */
public final class NotifyListener implements AutoCloseable {
    /** The libc calls a receiver needs. */
    public interface Libc {
        @SaveError
        int socket(int domain, int type, int protocol);

        @SaveError
        int bind(int fd, @In byte[] addr, int addrlen);

        @SaveError
        int setsockopt(int fd, int level, int name, @In byte[] value, int length);

        @SaveError
        long recv(int fd, @Out byte[] buf, long len, int flags);

        int close(int fd);
    }

    private static final Libc LIBC = LibraryLoader.create(Libc.class).load("c");
    private final int fd;
    private final String name;
    private final BlockingQueue<String> received = new LinkedBlockingQueue<>();
    private final Thread reader;
    private volatile boolean closed;

    public NotifyListener(String name) {
        this.name = name;
        byte[] addr = SdNotify.sockaddr(name);
        if (addr == null) {
            throw new IllegalArgumentException(name);
        }
        fd = LIBC.socket(1, 2, 0);
        if (fd < 0 || LIBC.bind(fd, addr, addr.length) != 0) {
            throw new IllegalStateException("cannot bind " + name + ": errno "
                    + jnr.ffi.Runtime.getRuntime(LIBC).getLastError());
        }
        // SO_RCVTIMEO 200 ms, so that the reader notices close().
        byte[] timeval = new byte[16];
        java.nio.ByteBuffer.wrap(timeval).order(java.nio.ByteOrder.nativeOrder()).putLong(0).putLong(200_000);
        LIBC.setsockopt(fd, 1, 20, timeval, timeval.length);
        reader = new Thread(this::read, "notify-listener");
        reader.setDaemon(true);
        reader.start();
    }

    /** The value for {@code $NOTIFY_SOCKET}. */
    public String name() {
        return name;
    }

    private void read() {
        byte[] buf = new byte[4096];
        while (!closed) {
            long n = LIBC.recv(fd, buf, buf.length, 0);
            if (n > 0) {
                received.add(new String(buf, 0, (int) n, StandardCharsets.UTF_8));
            }
        }
    }

    /** The next datagram, or null after {@code seconds}. */
    public String next(long seconds) throws InterruptedException {
        return received.poll(seconds, TimeUnit.SECONDS);
    }

    /** The next datagram with {@code line} among its lines, skipping others; null after {@code seconds}. */
    public String nextWith(String line, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            String m = received.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (m == null || m.lines().anyMatch(line::equals)) {
                return m;
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        closed = true;
        reader.join(2000);
        LIBC.close(fd);
        if (name.startsWith("/")) {
            new java.io.File(name).delete();
        }
    }
}
