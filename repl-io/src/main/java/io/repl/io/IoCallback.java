package io.repl.io;

/**
 * Completion of one block I/O request.
 *
 * <p>Called exactly once per request, on a thread owned by the engine. Implementations must
 * not block: hand the result to the thread that owns the request and return.
 *
 * <p>One exception to the thread: a request the engine refuses without doing I/O (-EINVAL for
 * a bad range or buffer, -ESHUTDOWN after close, -EAGAIN when its queue is full) and an
 * empty one (0) complete on the calling thread, before the submitting method returns.
 *
 * <p>When it is called, the engine and the kernel are done with the request's buffer. What
 * each result means, and which ones say the disk failed, is in {@link BlockEngine}.
 */
@FunctionalInterface
public interface IoCallback {
    /**
     * @param result 0 when the whole request succeeded, otherwise a negative errno value
     *     (see {@link Errno}); partial success is reported as an error. -EAGAIN and
     *     -ESHUTDOWN never mean the disk failed.
     */
    void complete(int result);
}
