package io.repl.io.uring;

import io.repl.io.EngineLoop;
import io.repl.io.kernel.NativeMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;

/**
 * A minimal event loop for tests: one thread that runs queued tasks and poll(2)s one watched
 * descriptor plus an eventfd that wakes it for tasks from other threads. It stands in for the
 * agent's Netty loop so the engine's loop-driven mode is tested without Netty.
 */
public final class PollLoop implements EngineLoop, AutoCloseable {
    private static final int POLLFD_BYTES = 8;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final int wakeFd;
    private final ByteBuffer pollFds = ByteBuffer.allocateDirect(2 * POLLFD_BYTES).order(ByteOrder.nativeOrder());
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(8);
    private volatile int watchedFd = -1;
    private volatile Runnable onReadable;
    private volatile boolean stopped;
    private volatile int transfersInFlight;
    private volatile int transfersInFlightMax;

    public PollLoop(String name) {
        wakeFd = Syscalls.get().eventfd(0, Syscalls.EFD_CLOEXEC | Syscalls.EFD_NONBLOCK);
        if (wakeFd < 0) {
            throw new IllegalStateException("eventfd failed");
        }
        thread = new Thread(this::run, name);
        thread.setDaemon(true);
        thread.start();
    }

    public Thread thread() {
        return thread;
    }

    @Override
    public boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    @Override
    public void execute(Runnable task) {
        if (stopped) {
            throw new RejectedExecutionException("loop stopped");
        }
        tasks.add(task);
        if (!inLoop()) {
            Syscalls.get().eventfd_write(wakeFd, 1);
        }
    }

    @Override
    public void inFlightChanged(int delta) {
        if (!inLoop()) {
            throw new IllegalStateException("in-flight change reported off the loop");
        }
        transfersInFlight += delta;
        transfersInFlightMax = Math.max(transfersInFlightMax, transfersInFlight);
    }

    /** Reads and writes the engines report in flight now, and the most ever reported. */
    public int transfersInFlight() {
        return transfersInFlight;
    }

    public int transfersInFlightMax() {
        return transfersInFlightMax;
    }

    @Override
    public Watch watch(int fd, Runnable callback) throws IOException {
        if (watchedFd >= 0) {
            throw new IOException("this test loop watches one descriptor at most");
        }
        onReadable = callback;
        watchedFd = fd;
        Syscalls.get().eventfd_write(wakeFd, 1);
        return () -> watchedFd = -1;
    }

    private void run() {
        while (!stopped) {
            Runnable t;
            while ((t = tasks.poll()) != null) {
                try {
                    t.run();
                } catch (Throwable e) {
                    // A failing task fails its test through what it completes; the loop goes on.
                    e.printStackTrace();
                }
            }
            int fd = watchedFd;
            pollFds.putInt(0, wakeFd).putShort(4, Syscalls.POLLIN).putShort(6, (short) 0);
            pollFds.putInt(POLLFD_BYTES, fd).putShort(POLLFD_BYTES + 4, Syscalls.POLLIN)
                    .putShort(POLLFD_BYTES + 6, (short) 0);
            int n = Syscalls.get().poll(NativeMemory.addressOf(pollFds), fd >= 0 ? 2 : 1,
                    tasks.isEmpty() ? 1000 : 0);
            if (n <= 0) {
                continue;
            }
            if (pollFds.getShort(6) != 0) {
                Syscalls.get().read(wakeFd, NativeMemory.addressOf(scratch), 8);
            }
            if (fd >= 0 && fd == watchedFd && pollFds.getShort(POLLFD_BYTES + 6) != 0) {
                onReadable.run();
            }
        }
    }

    /** Stops the thread; tasks still queued are dropped. */
    @Override
    public void close() throws InterruptedException {
        stopped = true;
        Syscalls.get().eventfd_write(wakeFd, 1);
        thread.join(10_000);
        Syscalls.get().close(wakeFd);
    }
}
