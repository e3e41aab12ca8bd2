package io.repl.io.uring;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The completion side of a ring: reads CQEs the kernel posted and hands their slots back.
 *
 * <p>Only one thread may use an instance. The tail is read with acquire, so the CQE bytes the
 * kernel wrote before publishing it are visible; the head is stored with release once the
 * CQEs are read, so the kernel never overwrites one still being read.
 */
final class CompletionQueue {
    static final int CQE_BYTES = 16;

    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

    /** Receives one completion: the SQE's user_data and its result (bytes moved or -errno). */
    interface Handler {
        void completed(long userData, int result);
    }

    private final ByteBuffer ring;
    private final int headOffset;
    private final int tailOffset;
    private final int overflowOffset;
    private final int cqesOffset;
    private final int mask;
    private int head;

    CompletionQueue(ByteBuffer ring, RingParams p) {
        this.ring = ring;
        this.headOffset = p.cqHead();
        this.tailOffset = p.cqTail();
        this.overflowOffset = p.cqOverflow();
        this.cqesOffset = p.cqCqes();
        this.mask = ring.getInt(p.cqRingMaskOffset());
        this.head = (int) INT.getAcquire(ring, headOffset);
    }

    /** CQEs posted and not yet reaped. */
    int ready() {
        return (int) INT.getAcquire(ring, tailOffset) - head;
    }

    /** Completions the kernel could not post because the ring was full; must stay 0. */
    int overflow() {
        return (int) INT.getAcquire(ring, overflowOffset);
    }

    /**
     * Hands every posted CQE to {@code handler} and frees their slots.
     *
     * @return how many were reaped
     */
    int reap(Handler handler) {
        int tail = (int) INT.getAcquire(ring, tailOffset);
        int n = tail - head;
        while (head != tail) {
            int base = cqesOffset + (head & mask) * CQE_BYTES;
            long userData = ring.getLong(base);
            int result = ring.getInt(base + 8);
            head++;
            // Free the slot before the handler runs: the handler may refill the SQ, and the
            // kernel can then post its CQE without waiting for the rest of this batch.
            INT.setRelease(ring, headOffset, head);
            handler.completed(userData, result);
        }
        return n;
    }
}
