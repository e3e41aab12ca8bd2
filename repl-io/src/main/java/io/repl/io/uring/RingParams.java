package io.repl.io.uring;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A flyweight over {@code struct io_uring_params} (include/uapi/linux/io_uring.h): what
 * {@code io_uring_setup} is asked for and what it reports back, above all where the ring
 * fields sit inside the mapped regions. Apart from the entry counts, the getters return byte
 * offsets into a mapped ring, never the values stored there.
 */
final class RingParams {
    static final int BYTES = 120;

    private static final int SQ_ENTRIES = 0;
    private static final int CQ_ENTRIES = 4;
    private static final int FLAGS = 8;
    private static final int FEATURES = 20;
    /** struct io_sqring_offsets starts here: head, tail, ring_mask, ring_entries, flags, dropped, array. */
    private static final int SQ_OFF = 40;
    /** struct io_cqring_offsets starts here: head, tail, ring_mask, ring_entries, overflow, cqes, flags. */
    private static final int CQ_OFF = 80;

    final ByteBuffer buffer = ByteBuffer.allocateDirect(BYTES).order(ByteOrder.nativeOrder());

    RingParams(int setupFlags) {
        buffer.putInt(FLAGS, setupFlags);
    }

    int sqEntries() {
        return buffer.getInt(SQ_ENTRIES);
    }

    int cqEntries() {
        return buffer.getInt(CQ_ENTRIES);
    }

    int features() {
        return buffer.getInt(FEATURES);
    }

    int sqHead() {
        return buffer.getInt(SQ_OFF);
    }

    int sqTail() {
        return buffer.getInt(SQ_OFF + 4);
    }

    int sqRingMaskOffset() {
        return buffer.getInt(SQ_OFF + 8);
    }

    int sqArray() {
        return buffer.getInt(SQ_OFF + 24);
    }

    int cqHead() {
        return buffer.getInt(CQ_OFF);
    }

    int cqTail() {
        return buffer.getInt(CQ_OFF + 4);
    }

    int cqRingMaskOffset() {
        return buffer.getInt(CQ_OFF + 8);
    }

    int cqOverflow() {
        return buffer.getInt(CQ_OFF + 16);
    }

    int cqCqes() {
        return buffer.getInt(CQ_OFF + 20);
    }
}
