package io.repl.io;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A pool of direct buffers whose addresses are aligned for O_DIRECT.
 *
 * <p>Buffers come in power-of-two size classes from 4 KiB to {@link #MAX_BUFFER_BYTES}. Each
 * class keeps at most a fixed number of idle buffers (more for small classes), so the memory
 * parked in the pool is bounded; a buffer returned to a full class is left to the GC.
 */
public final class AlignedBuffers {
    /**
     * The largest single buffer: the largest request the NBD front end accepts (32 MiB),
     * widened to whole blocks at both ends when it is not aligned, rounded up to a class.
     */
    public static final int MAX_BUFFER_BYTES = 64 << 20;
    private static final int MIN_SHIFT = 12;
    private static final int MAX_SHIFT = 26;
    private static final long IDLE_BYTES_PER_CLASS_MAX = 8L << 20;
    private static final int IDLE_BUFFERS_PER_CLASS_MAX = 256;

    private final int alignment;
    private final ConcurrentLinkedQueue<ByteBuffer>[] idle;
    private final AtomicInteger[] idleCount;
    private final int[] idleMax;

    @SuppressWarnings("unchecked")
    public AlignedBuffers(int alignment) {
        if (Integer.bitCount(alignment) != 1 || alignment > 1 << MIN_SHIFT) {
            throw new IllegalArgumentException(
                    "alignment must be a power of two no larger than 4096, got " + alignment);
        }
        this.alignment = alignment;
        int classes = MAX_SHIFT - MIN_SHIFT + 1;
        idle = new ConcurrentLinkedQueue[classes];
        idleCount = new AtomicInteger[classes];
        idleMax = new int[classes];
        for (int i = 0; i < classes; i++) {
            idle[i] = new ConcurrentLinkedQueue<>();
            idleCount[i] = new AtomicInteger();
            long bytes = 1L << (MIN_SHIFT + i);
            idleMax[i] = (int) Math.max(1, Math.min(IDLE_BUFFERS_PER_CLASS_MAX, IDLE_BYTES_PER_CLASS_MAX / bytes));
        }
    }

    public int alignment() {
        return alignment;
    }

    /**
     * A buffer with position 0 and limit {@code length}; its capacity may be larger.
     *
     * @throws IllegalArgumentException if length is negative or above {@link #MAX_BUFFER_BYTES}
     */
    public ByteBuffer acquire(int length) {
        if (length < 0 || length > MAX_BUFFER_BYTES) {
            throw new IllegalArgumentException(
                    "buffer length must be 0.." + MAX_BUFFER_BYTES + ", got " + length);
        }
        int cls = sizeClass(length);
        ByteBuffer b = idle[cls].poll();
        if (b != null) {
            idleCount[cls].decrementAndGet();
        } else {
            b = allocate(1 << (MIN_SHIFT + cls));
        }
        b.clear().limit(length);
        return b;
    }

    /** Gives a buffer from {@link #acquire} back. The caller must not touch it afterwards. */
    public void release(ByteBuffer b) {
        int cap = b.capacity();
        if (Integer.bitCount(cap) != 1 || cap < 1 << MIN_SHIFT || cap > 1 << MAX_SHIFT) {
            return;
        }
        int cls = Integer.numberOfTrailingZeros(cap) - MIN_SHIFT;
        if (idleCount[cls].incrementAndGet() <= idleMax[cls]) {
            idle[cls].offer(b);
        } else {
            idleCount[cls].decrementAndGet();
        }
    }

    /**
     * Whether {@code b} can be used for a transfer that needs {@code alignment}: it is direct,
     * and the address of its position is a multiple of {@code alignment}. Heap buffers never
     * qualify, since the GC may move them while the kernel copies.
     */
    public static boolean isAligned(ByteBuffer b, int alignment) {
        return b.isDirect() && b.alignmentOffset(b.position(), alignment) == 0;
    }

    private ByteBuffer allocate(int capacity) {
        ByteBuffer raw = ByteBuffer.allocateDirect(capacity + 4096);
        ByteBuffer aligned = raw.alignedSlice(4096);
        aligned.limit(capacity);
        return aligned.slice();
    }

    private static int sizeClass(int length) {
        if (length <= 1 << MIN_SHIFT) {
            return 0;
        }
        int shift = 32 - Integer.numberOfLeadingZeros(length - 1);
        return shift - MIN_SHIFT;
    }
}
