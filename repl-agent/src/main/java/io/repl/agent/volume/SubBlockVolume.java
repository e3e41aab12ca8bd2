package io.repl.agent.volume;

import io.repl.io.AlignedBuffers;
import io.repl.io.IoCallback;
import java.nio.ByteBuffer;

/**
 * Serves requests of any byte granularity on top of a volume that takes whole blocks only.
 *
 * <p>Aligned requests pass straight through. A read that is not aligned reads the covering
 * blocks into a bounce buffer; a write that is not aligned reads its partial edge blocks,
 * merges, and writes whole blocks (read-modify-write), fenced off from other writes to those
 * blocks by a {@link WriteGate}. Everything below this layer, the replication core included,
 * only ever sees whole blocks.
 */
public final class SubBlockVolume implements Volume {
    private final Volume inner;
    private final int block;
    private final WriteGate gate = new WriteGate();

    public SubBlockVolume(Volume inner) {
        this.inner = inner;
        this.block = inner.blockSize();
        if (Integer.bitCount(block) != 1) {
            throw new IllegalArgumentException("block size must be a power of two, got " + block);
        }
    }

    @Override
    public long size() {
        return inner.size();
    }

    @Override
    public int blockSize() {
        return 1;
    }

    /** Whole blocks of the layer below: requests of that shape skip read-modify-write. */
    @Override
    public int preferredBlockSize() {
        return Math.max(block, 4096);
    }

    @Override
    public AlignedBuffers buffers() {
        return inner.buffers();
    }

    private boolean aligned(long offset, long length) {
        return ((offset | length) & (block - 1)) == 0;
    }

    private long floor(long x) {
        return x & -block;
    }

    private long ceil(long x) {
        return (x + block - 1) & -block;
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCallback done) {
        int length = dst.remaining();
        if (aligned(offset, length)) {
            inner.read(offset, dst, done);
            return;
        }
        long start = floor(offset);
        int span = (int) (ceil(offset + length) - start);
        ByteBuffer bounce = buffers().acquire(span);
        inner.read(start, bounce, r -> {
            if (r == 0) {
                ByteBuffer src = bounce.duplicate();
                src.position((int) (offset - start)).limit((int) (offset - start) + length);
                dst.duplicate().put(src);
            }
            buffers().release(bounce);
            done.complete(r);
        });
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua, IoCallback done) {
        int length = src.remaining();
        if (aligned(offset, length)) {
            WriteGate.Claim[] claim = new WriteGate.Claim[1];
            claim[0] = new WriteGate.Claim(offset / block, (offset + length - 1) / block, false,
                    () -> inner.write(offset, src, fua, r -> {
                        gate.leave(claim[0]);
                        done.complete(r);
                    }));
            gate.enter(claim[0]);
            return;
        }
        readModifyWrite(offset, length, src, fua, done);
    }

    @Override
    public void flush(IoCallback done) {
        inner.flush(done);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap, boolean fastOnly, boolean fua,
                            IoCallback done) {
        if (aligned(offset, length)) {
            zeroAligned(offset, length, mayUnmap, fastOnly, fua, done);
            return;
        }
        // Partial edge blocks get zeroes written into them; whole blocks in between are zeroed
        // the cheap way. Each part completes on its own; the first error wins.
        long headEnd = Math.min(offset + length, ceil(offset));
        long tailStart = Math.max(headEnd, floor(offset + length));
        Join join = new Join(done);
        if (headEnd > offset) {
            join.add();
            readModifyWrite(offset, (int) (headEnd - offset), null, fua, join);
        }
        if (tailStart > headEnd) {
            join.add();
            zeroAligned(headEnd, tailStart - headEnd, mayUnmap, fastOnly, fua, join);
        }
        if (offset + length > tailStart) {
            join.add();
            readModifyWrite(tailStart, (int) (offset + length - tailStart), null, fua, join);
        }
        join.seal();
    }

    private void zeroAligned(long offset, long length, boolean mayUnmap, boolean fastOnly, boolean fua,
                             IoCallback done) {
        WriteGate.Claim[] claim = new WriteGate.Claim[1];
        claim[0] = new WriteGate.Claim(offset / block, (offset + length - 1) / block, false,
                () -> inner.writeZeroes(offset, length, mayUnmap, fastOnly, fua, r -> {
                    gate.leave(claim[0]);
                    done.complete(r);
                }));
        gate.enter(claim[0]);
    }

    /**
     * Writes {@code length} bytes at an unaligned {@code offset}: {@code src}, or zeroes when
     * {@code src} is null.
     */
    private void readModifyWrite(long offset, int length, ByteBuffer src, boolean fua, IoCallback done) {
        long start = floor(offset);
        long end = ceil(offset + length);
        int span = (int) (end - start);
        WriteGate.Claim[] claim = new WriteGate.Claim[1];
        claim[0] = new WriteGate.Claim(start / block, end / block - 1, true, () -> {
            ByteBuffer merged = buffers().acquire(span);
            IoCallback finish = r -> {
                buffers().release(merged);
                gate.leave(claim[0]);
                done.complete(r);
            };
            readEdges(start, end, offset, length, merged, r -> {
                if (r != 0) {
                    finish.complete(r);
                    return;
                }
                ByteBuffer into = merged.duplicate();
                into.position((int) (offset - start)).limit((int) (offset - start) + length);
                if (src == null) {
                    while (into.hasRemaining()) {
                        into.put((byte) 0);
                    }
                } else {
                    into.put(src.duplicate());
                }
                inner.write(start, merged, fua, finish);
            });
        });
        gate.enter(claim[0]);
    }

    /** Fills the partial first and last blocks of {@code merged} from the volume. */
    private void readEdges(long start, long end, long offset, int length, ByteBuffer merged, IoCallback done) {
        boolean head = offset != start;
        boolean tail = offset + length != end && (end - block != start || !head);
        Join join = new Join(done);
        if (head) {
            join.add();
            inner.read(start, slice(merged, 0, block), join);
        }
        if (tail) {
            join.add();
            inner.read(end - block, slice(merged, (int) (end - block - start), block), join);
        }
        join.seal();
    }

    private static ByteBuffer slice(ByteBuffer b, int at, int length) {
        ByteBuffer d = b.duplicate();
        d.position(at).limit(at + length);
        return d.slice();
    }
}
