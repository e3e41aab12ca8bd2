package io.repl.io.uring;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.LongConsumer;

/**
 * The submission side of a ring: fills SQEs and publishes them to the kernel.
 *
 * <p>Only one thread may use an instance. The kernel reads the tail with acquire semantics, so
 * the SQE bytes written before {@link #publish()} (a release store of the tail) are visible
 * to it; the kernel's head is read with acquire for the same reason in reverse. The index
 * array is filled once with the identity, so SQE slot {@code i} is always array entry
 * {@code i}.
 */
final class SubmissionQueue {
    static final int SQE_BYTES = 64;

    static final byte OP_FSYNC = 3;
    static final byte OP_FALLOCATE = 17;
    static final byte OP_READ = 22;
    static final byte OP_WRITE = 23;
    static final int FSYNC_DATASYNC = 1;
    /** rw_flags of a write: durable on completion, as if the file were opened O_DSYNC. */
    static final int RWF_DSYNC = 0x2;

    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

    private static final int SQE_OPCODE = 0;
    private static final int SQE_FD = 4;
    private static final int SQE_OFF = 8;
    private static final int SQE_ADDR = 16;
    private static final int SQE_LEN = 24;
    private static final int SQE_OP_FLAGS = 28;
    private static final int SQE_USER_DATA = 32;

    private final ByteBuffer ring;
    private final ByteBuffer sqes;
    private final int headOffset;
    private final int tailOffset;
    private final int mask;
    private final int entries;
    private int tail;

    SubmissionQueue(ByteBuffer ring, ByteBuffer sqes, RingParams p) {
        this.ring = ring;
        this.sqes = sqes;
        this.headOffset = p.sqHead();
        this.tailOffset = p.sqTail();
        // The params hold where the mask lives in the ring, not the mask itself.
        this.mask = ring.getInt(p.sqRingMaskOffset());
        this.entries = p.sqEntries();
        this.tail = (int) INT.getAcquire(ring, tailOffset);
        for (int i = 0; i < entries; i++) {
            ring.putInt(p.sqArray() + 4 * i, i);
        }
    }

    int entries() {
        return entries;
    }

    /** SQEs filled (published or not) that the kernel has not consumed yet. */
    int unconsumed() {
        return tail - (int) INT.getAcquire(ring, headOffset);
    }

    /** Slots free for new SQEs. */
    int free() {
        return entries - unconsumed();
    }

    /** Makes every SQE filled so far visible to the kernel. */
    void publish() {
        INT.setRelease(ring, tailOffset, tail);
    }

    /**
     * Takes back every SQE filled and not yet consumed by the kernel, oldest first, handing
     * each one's user_data to {@code withdrawn}; the kernel will never see them. Sound because
     * no kernel thread polls this ring (no SQPOLL): the kernel reads the tail only inside
     * {@code io_uring_enter}, which only the thread that owns this queue calls.
     */
    void withdraw(LongConsumer withdrawn) {
        int head = (int) INT.getAcquire(ring, headOffset);
        for (int i = head; i != tail; i++) {
            withdrawn.accept(sqes.getLong((i & mask) * SQE_BYTES + SQE_USER_DATA));
        }
        tail = head;
        publish();
    }

    /** A read or write of {@code length} bytes between {@code address} and file offset {@code offset}. */
    void readWrite(byte opcode, int fd, long address, int length, long offset, long userData) {
        readWrite(opcode, fd, address, length, offset, 0, userData);
    }

    /** As above, with {@code rwFlags} (such as {@link #RWF_DSYNC}) for this request only. */
    void readWrite(byte opcode, int fd, long address, int length, long offset, int rwFlags, long userData) {
        int base = next(opcode, fd, userData);
        sqes.putLong(base + SQE_OFF, offset);
        sqes.putLong(base + SQE_ADDR, address);
        sqes.putInt(base + SQE_LEN, length);
        sqes.putInt(base + SQE_OP_FLAGS, rwFlags);
    }

    /** fdatasync of the whole file. */
    void fsync(int fd, long userData) {
        int base = next(OP_FSYNC, fd, userData);
        sqes.putInt(base + SQE_OP_FLAGS, FSYNC_DATASYNC);
    }

    /** fallocate: the kernel takes the length from the addr field and the mode from len. */
    void fallocate(int fd, int mode, long offset, long length, long userData) {
        int base = next(OP_FALLOCATE, fd, userData);
        sqes.putLong(base + SQE_OFF, offset);
        sqes.putLong(base + SQE_ADDR, length);
        sqes.putInt(base + SQE_LEN, mode);
    }

    /** Claims the next SQE, clears what a previous use left in it, and fills the common fields. */
    private int next(byte opcode, int fd, long userData) {
        if (free() <= 0) {
            // The engine bounds in-flight requests by the ring size, so this is a bug there.
            throw new IllegalStateException("submission queue full: in-flight bound broken");
        }
        int base = (tail & mask) * SQE_BYTES;
        for (int i = 0; i < SQE_BYTES; i += 8) {
            sqes.putLong(base + i, 0L);
        }
        sqes.put(base + SQE_OPCODE, opcode);
        sqes.putInt(base + SQE_FD, fd);
        sqes.putLong(base + SQE_USER_DATA, userData);
        tail++;
        return base;
    }
}
