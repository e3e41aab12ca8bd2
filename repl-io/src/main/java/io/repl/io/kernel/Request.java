package io.repl.io.kernel;

import io.repl.io.IoCallback;
import java.nio.ByteBuffer;

/**
 * One accepted request and its progress, as the engines that hand requests to the kernel
 * (io_uring, Linux AIO) keep it. Created by the submitting thread, then touched only
 * by the ring thread, which may submit it several times: the rest of a short transfer, a
 * retry after EAGAIN, or the next way of zeroing when the kernel refused one.
 */
public final class Request {
    public enum Kind { READ, WRITE, FLUSH, ZERO }

    /** How a ZERO request is being carried out, in the order they are tried. */
    public enum ZeroStep { PUNCH_HOLE, ZERO_RANGE, WRITE_ZEROES }

    public final Kind kind;
    public final IoCallback done;
    /** Keeps the caller's direct buffer reachable while the kernel may use its address. */
    public final ByteBuffer buffer;
    public final boolean fastOnly;
    /** A write that must be durable when it completes: submitted with RWF_DSYNC. */
    public final boolean dsync;
    public long offset;
    public long address;
    public long remaining;
    public ZeroStep zeroStep;
    /** EAGAIN or EINTR answers in a row, without progress in between. */
    public int retries;
    /**
     * Its submissions to the kernel (SQEs, iocbs) not yet completed or withdrawn: while above 0
     * the kernel may use the buffer.
     */
    public int inKernel;

    private Request(Kind kind, IoCallback done, ByteBuffer buffer, long offset, long address, long remaining,
                    ZeroStep zeroStep, boolean fastOnly, boolean dsync) {
        this.kind = kind;
        this.done = done;
        this.buffer = buffer;
        this.offset = offset;
        this.address = address;
        this.remaining = remaining;
        this.zeroStep = zeroStep;
        this.fastOnly = fastOnly;
        this.dsync = dsync;
    }

    public static Request transfer(Kind kind, long offset, ByteBuffer buffer, long address, IoCallback done) {
        return new Request(kind, done, buffer, offset, address, buffer.remaining(), null, false, false);
    }

    public static Request durableWrite(long offset, ByteBuffer buffer, long address, IoCallback done) {
        return new Request(Kind.WRITE, done, buffer, offset, address, buffer.remaining(), null, false, true);
    }

    public static Request flush(IoCallback done) {
        return new Request(Kind.FLUSH, done, null, 0, 0, 0, null, false, false);
    }

    public static Request zero(long offset, long length, boolean mayUnmap, boolean fastOnly, IoCallback done) {
        ZeroStep first = mayUnmap ? ZeroStep.PUNCH_HOLE : ZeroStep.ZERO_RANGE;
        return new Request(Kind.ZERO, done, null, offset, 0, length, first, fastOnly, false);
    }
}
