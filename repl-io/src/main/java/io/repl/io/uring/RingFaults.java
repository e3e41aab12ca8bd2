package io.repl.io.uring;

/**
 * Where a test stands between the engine and the kernel: it may answer an
 * {@code io_uring_enter} or change a completion as the kernel could, and it sees what the
 * engine hands back and when. Production uses {@link #NONE}, which changes nothing.
 */
interface RingFaults {
    RingFaults NONE = new RingFaults() { };

    /**
     * Called before an {@code io_uring_enter} that would submit {@code toSubmit} SQEs. 0 lets
     * it run; a negative errno is taken as its result instead, with nothing submitted, which
     * is what the kernel does when it answers -EAGAIN or -EBUSY.
     */
    default int beforeSubmit(int toSubmit) {
        return 0;
    }

    /**
     * The result the engine sees for a request's CQE (the ring's own wakeup read excepted);
     * {@code slot} tells apart the requests in flight at one time.
     */
    default int completion(int slot, int result) {
        return result;
    }

    /**
     * Called just before a request's callback, with how many of its SQEs the kernel may still
     * hold. Anything but 0 would hand the caller a buffer the kernel may still read or fill.
     */
    default void handingBack(int sqesInKernel) {
    }

    /** Called just before the ring's memory is unmapped, with the SQEs the kernel may still hold. */
    default void releasing(int sqesInKernel) {
    }
}
