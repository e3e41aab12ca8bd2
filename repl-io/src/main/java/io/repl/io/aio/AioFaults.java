package io.repl.io.aio;

/**
 * Where a test stands between the libaio engine and {@code io_submit}: it may answer a
 * submission as the kernel could. Production uses {@link #NONE}, which changes nothing.
 */
interface AioFaults {
    AioFaults NONE = () -> 0;

    /**
     * Called before each {@code io_submit}. 0 lets it run; a negative errno is taken as its
     * result instead, with nothing submitted (-EAGAIN: the kernel is short of resources now).
     */
    int beforeSubmit();
}
