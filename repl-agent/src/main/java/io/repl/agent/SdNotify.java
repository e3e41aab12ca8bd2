package io.repl.agent;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.SaveError;

/**
 * systemd's readiness protocol ({@code sd_notify(3)}) without libsystemd: each message is one
 * datagram of {@code KEY=VALUE} lines sent to the unix socket named by {@code $NOTIFY_SOCKET}
 * (a path, or an abstract name written with a leading {@code @}). The JDK has no unix datagram
 * sockets, so this binds {@code socket} and {@code sendto} from libc. Without
 * {@code $NOTIFY_SOCKET} (not started by a {@code Type=notify} unit) every call does nothing;
 * a message that cannot be sent is logged once and never stops the agent.
 */
public final class SdNotify {
    private static final System.Logger LOG = System.getLogger(SdNotify.class.getName());
    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int MSG_NOSIGNAL = 0x4000;
    /** sizeof(struct sockaddr_un.sun_path) on Linux. */
    private static final int SUN_PATH_BYTES = 108;

    /** The libc calls used here. */
    public interface Sockets {
        @SaveError
        int socket(int domain, int type, int protocol);

        @SaveError
        long sendto(int fd, @In byte[] buf, long len, int flags, @In byte[] addr, int addrlen);

        int close(int fd);
    }

    private final String socket;
    private boolean warned;

    private SdNotify(String socket) {
        this.socket = socket;
    }

    /** For the socket {@code $NOTIFY_SOCKET} names; inert when it is unset or empty. */
    public static SdNotify fromEnvironment() {
        String s = System.getenv("NOTIFY_SOCKET");
        return new SdNotify(s == null || s.isEmpty() ? null : s);
    }

    /** For {@code socket} (a path or an @abstract name), as if $NOTIFY_SOCKET said so. */
    static SdNotify to(String socket) {
        return new SdNotify(socket);
    }

    /** Whether a service manager listens. */
    public boolean active() {
        return socket != null;
    }

    /** {@code READY=1} with a status line. */
    public void ready(String status) {
        send("READY=1\nSTATUS=" + oneLine(status) + "\nMAINPID=" + ProcessHandle.current().pid());
    }

    /** A {@code STATUS=} line, shown by {@code systemctl status}. */
    public void status(String status) {
        send("STATUS=" + oneLine(status));
    }

    /** {@code STOPPING=1}: the agent is taking its resources down. */
    public void stopping(String status) {
        send("STOPPING=1\nSTATUS=" + oneLine(status));
    }

    private static String oneLine(String s) {
        return s.replace('\n', ' ');
    }

    /** Sends one datagram; false (logged) if it could not be sent. */
    synchronized boolean send(String message) {
        if (socket == null) {
            return false;
        }
        Sockets libc = Holder.LIBC;
        if (libc == null) {
            warn("libc cannot be bound");
            return false;
        }
        byte[] addr = sockaddr(socket);
        if (addr == null) {
            warn("NOTIFY_SOCKET \"" + socket + "\" is not an absolute path or an @abstract name of at most "
                    + (SUN_PATH_BYTES - 1) + " bytes");
            return false;
        }
        int fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            warn("socket: errno " + jnr.ffi.Runtime.getRuntime(libc).getLastError());
            return false;
        }
        try {
            byte[] msg = message.getBytes(StandardCharsets.UTF_8);
            long n = libc.sendto(fd, msg, msg.length, MSG_NOSIGNAL, addr, addr.length);
            if (n != msg.length) {
                warn("sendto " + socket + ": errno " + jnr.ffi.Runtime.getRuntime(libc).getLastError());
                return false;
            }
            return true;
        } finally {
            libc.close(fd);
        }
    }

    private void warn(String why) {
        if (!warned) {
            warned = true;
            LOG.log(System.Logger.Level.WARNING, "cannot tell systemd (sd_notify): " + why);
        }
    }

    /**
     * {@code struct sockaddr_un} for a path or, with a leading {@code @}, an abstract name
     * (sun_path starting with a NUL byte, its length given exactly, no terminating NUL).
     */
    static byte[] sockaddr(String name) {
        boolean abstractName = name.startsWith("@");
        if (!abstractName && !name.startsWith("/")) {
            return null;
        }
        byte[] path = (abstractName ? name.substring(1) : name).getBytes(StandardCharsets.UTF_8);
        int used = path.length + 1; // the leading NUL of an abstract name, or the terminating NUL of a path
        if (used > SUN_PATH_BYTES) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate(2 + used).order(ByteOrder.nativeOrder());
        b.putShort((short) AF_UNIX);
        if (abstractName) {
            b.put((byte) 0).put(path);
        } else {
            b.put(path).put((byte) 0);
        }
        return b.array();
    }

    /** Lazy, failure-tolerant loading. */
    private static final class Holder {
        static final Sockets LIBC = load();

        private static Sockets load() {
            try {
                return LibraryLoader.create(Sockets.class).failImmediately().load("c");
            } catch (Throwable t) {
                return null;
            }
        }
    }
}
