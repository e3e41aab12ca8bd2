package io.repl.io;

import java.io.IOException;

/**
 * An event loop an engine can run on instead of a thread of its own.
 *
 * <p>When the code that submits I/O (an NBD session, the replication core) and the code that
 * completes it share one thread, a request costs no thread hand-off at all: the loop prepares
 * the request, submits a whole burst with one system call, and learns of completions from a
 * descriptor it polls together with its sockets. On a two-core machine the hand-offs, not the
 * disk, were what bounded small random I/O.
 *
 * <p>The agent implements this over a Netty epoll event loop; tests over a plain thread.
 */
public interface EngineLoop {

    /** Whether the caller runs on the loop's thread. */
    boolean inLoop();

    /**
     * Runs {@code task} on the loop after the events it is handling now. From the loop's own
     * thread this only queues it, so every request a burst of input produces is gathered
     * before the task submits them together.
     *
     * @throws java.util.concurrent.RejectedExecutionException if the loop has shut down
     */
    void execute(Runnable task);

    /**
     * Calls {@code onReadable} on the loop whenever {@code fd} is readable, until the returned
     * watch is closed. The descriptor stays the caller's to close, after the watch.
     *
     * @throws IOException if the loop cannot poll the descriptor
     */
    Watch watch(int fd, Runnable onReadable) throws IOException;

    /**
     * As {@link #watch(int, Runnable)}, and {@code pending} tells the loop, from memory and
     * without a system call, that completions are waiting (an io_uring's CQ holds entries), so
     * that a loop polling for them need not ask the kernel to learn it. Called on the loop's
     * thread only, never after the watch is closed. The default ignores it.
     */
    default Watch watch(int fd, Runnable onReadable, java.util.function.BooleanSupplier pending) throws IOException {
        return watch(fd, onReadable);
    }

    /**
     * Told on the loop's thread, after each pass over the ring, how many of an engine's reads
     * and writes are now in flight, as a change since the last report. A loop may poll for a
     * short while instead of sleeping while completions are due; the default ignores it.
     */
    default void inFlightChanged(int delta) {
    }

    /** A registration made by {@link #watch}. */
    interface Watch extends AutoCloseable {
        /** Stops polling the descriptor; safe from any thread, and more than once. */
        @Override
        void close();
    }
}
