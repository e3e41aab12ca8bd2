package io.repl.io.uring;

import io.repl.io.IoCallback;
import java.nio.ByteBuffer;

/**
 * One accepted request and its progress. Created by the submitting thread, then touched only
 * by the ring thread, which may submit it several times: the rest of a short transfer, a
 * retry after EAGAIN, or the next way of zeroing when the kernel refused one.
 */
final class Request {
    enum Kind { READ, WRITE, FLUSH, ZERO }

    /** How a ZERO request is being carried out, in the order they are tried. */
    enum ZeroStep { PUNCH_HOLE, ZERO_RANGE, WRITE_ZEROES }

    final Kind kind;
    final IoCallback done;
    /** Keeps the caller's direct buffer reachable while the kernel may use its address. */
    final ByteBuffer buffer;
    final boolean fastOnly;
    /** A write that must be durable when it completes: submitted with RWF_DSYNC. */
    final boolean dsync;
    long offset;
    long address;
    long remaining;
    ZeroStep zeroStep;
    /** EAGAIN or EINTR answers in a row, without progress in between. */
    int retries;
    /** Its SQEs filled and neither reaped nor withdrawn: while above 0 the kernel may use the buffer. */
    int sqesOut;

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

    static Request transfer(Kind kind, long offset, ByteBuffer buffer, long address, IoCallback done) {
        return new Request(kind, done, buffer, offset, address, buffer.remaining(), null, false, false);
    }

    static Request durableWrite(long offset, ByteBuffer buffer, long address, IoCallback done) {
        return new Request(Kind.WRITE, done, buffer, offset, address, buffer.remaining(), null, false, true);
    }

    static Request flush(IoCallback done) {
        return new Request(Kind.FLUSH, done, null, 0, 0, 0, null, false, false);
    }

    static Request zero(long offset, long length, boolean mayUnmap, boolean fastOnly, IoCallback done) {
        ZeroStep first = mayUnmap ? ZeroStep.PUNCH_HOLE : ZeroStep.ZERO_RANGE;
        return new Request(Kind.ZERO, done, null, offset, 0, length, first, fastOnly, false);
    }
}
