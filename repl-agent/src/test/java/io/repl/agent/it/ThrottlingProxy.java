package io.repl.agent.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy on loopback that forwards to one address at a limited rate in each direction: a
 * slow link between two agents, where {@code tc netem} is not available. Each direction of every
 * connection shares that direction's budget (a token bucket refilled at {@code bytesPerSecond},
 * holding at most a tenth of a second).
 */
final class ThrottlingProxy implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress target;
    private final Bucket up;
    private final Bucket down;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Thread acceptor;
    private volatile boolean closed;

    ThrottlingProxy(int targetPort, long bytesPerSecond) throws IOException {
        this.server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        this.target = new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort);
        this.up = new Bucket(bytesPerSecond);
        this.down = new Bucket(bytesPerSecond);
        this.acceptor = new Thread(this::acceptLoop, "throttling-proxy-" + port());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket in = server.accept();
                Socket out = new Socket();
                try {
                    out.connect(target, 5_000);
                } catch (IOException e) {
                    in.close();
                    continue;
                }
                sockets.add(in);
                sockets.add(out);
                pump(in, out, up);
                pump(out, in, down);
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("throttling proxy: " + e);
                }
            }
        }
    }

    private void pump(Socket from, Socket to, Bucket bucket) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    bucket.take(n);
                    out.write(buf, 0, n);
                }
            } catch (IOException | InterruptedException e) {
                // One side closed: close both below.
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "throttling-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        sockets.forEach(ThrottlingProxy::closeQuietly);
    }

    /** A token bucket: {@code take} waits until the direction's budget allows {@code n} more bytes. */
    private static final class Bucket {
        private final long bytesPerSecond;
        private final long capacity;
        private double tokens;
        private long lastNanos = System.nanoTime();

        Bucket(long bytesPerSecond) {
            this.bytesPerSecond = bytesPerSecond;
            this.capacity = Math.max(16 * 1024, bytesPerSecond / 10);
            this.tokens = capacity;
        }

        synchronized void take(int n) throws InterruptedException {
            while (true) {
                long now = System.nanoTime();
                tokens = Math.min(capacity, tokens + (now - lastNanos) * (double) bytesPerSecond / 1e9);
                lastNanos = now;
                if (tokens >= n) {
                    tokens -= n;
                    return;
                }
                double missing = n - tokens;
                long waitNanos = (long) (missing * 1e9 / bytesPerSecond);
                TimeUnit.NANOSECONDS.sleep(Math.max(waitNanos, 100_000));
            }
        }
    }
}
