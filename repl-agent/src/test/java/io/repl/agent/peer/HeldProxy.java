package io.repl.agent.peer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP forwarder that accepts connections but holds them until {@link #release()}. With one
 * in front of each node, both nodes' dials are pending at once and released together: a
 * simultaneous connect by construction rather than by luck.
 */
final class HeldProxy implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress target;
    private final CountDownLatch released = new CountDownLatch(1);
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    final AtomicInteger accepted = new AtomicInteger();
    /** Forwarded connections whose two sides are both still open. */
    final AtomicInteger open = new AtomicInteger();
    private final Object stallLock = new Object();
    private boolean stalled;

    HeldProxy(InetSocketAddress target) throws IOException {
        this.target = target;
        this.server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        daemon(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    void release() {
        released.countDown();
    }

    /**
     * Stops (or resumes) forwarding what the accepting side sends: the target then looks like
     * a peer that stopped reading, and the sender's socket and queue fill up.
     */
    void stall(boolean on) {
        synchronized (stallLock) {
            stalled = on;
            stallLock.notifyAll();
        }
    }

    private void awaitFlowing() throws InterruptedException {
        synchronized (stallLock) {
            while (stalled) {
                stallLock.wait();
            }
        }
    }

    private void acceptLoop() {
        try {
            while (true) {
                Socket down = server.accept();
                sockets.add(down);
                accepted.incrementAndGet();
                daemon(() -> forward(down));
            }
        } catch (IOException e) {
            // Closed by the test.
        }
    }

    private void forward(Socket down) {
        try {
            released.await();
            Socket up = new Socket(target.getAddress(), target.getPort());
            sockets.add(up);
            open.incrementAndGet();
            AtomicInteger ends = new AtomicInteger();
            Runnable closeBoth = () -> {
                if (ends.incrementAndGet() == 1) {
                    open.decrementAndGet();
                }
                quietClose(up);
                quietClose(down);
            };
            daemon(() -> pump(down, up, closeBoth, true));
            daemon(() -> pump(up, down, closeBoth, false));
        } catch (IOException | InterruptedException e) {
            quietClose(down);
        }
    }

    private void pump(Socket from, Socket to, Runnable done, boolean stallable) {
        byte[] buf = new byte[16 * 1024];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            while (true) {
                if (stallable) {
                    awaitFlowing();
                }
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                out.write(buf, 0, n);
            }
        } catch (IOException | InterruptedException e) {
            // Either side went away.
        }
        done.run();
    }

    private static void daemon(Runnable r) {
        Thread t = new Thread(r, "held-proxy");
        t.setDaemon(true);
        t.start();
    }

    private static void quietClose(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // Nothing to do.
        }
    }

    @Override
    public void close() throws IOException {
        release();
        server.close();
        sockets.forEach(HeldProxy::quietClose);
    }
}
