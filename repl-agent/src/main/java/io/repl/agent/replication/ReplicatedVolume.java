package io.repl.agent.replication;

import io.repl.agent.volume.Join;
import io.repl.agent.volume.Volume;
import io.repl.core.replication.FrontRequest;
import io.repl.io.AlignedBuffers;
import io.repl.io.Errno;
import io.repl.io.IoCallback;
import java.nio.ByteBuffer;

/**
 * A mirrored volume: reads come from the local disk, writes, flushes and zeroing go through the
 * replication core, which acknowledges them per the resource's protocol. Requests larger than
 * the core takes at once are split; the parts complete together, the first error winning.
 */
public final class ReplicatedVolume implements Volume {
    private final CoreDriver driver;
    private final long size;
    private final int block;

    public ReplicatedVolume(CoreDriver driver, long size) {
        this.driver = driver;
        this.size = size;
        this.block = Math.max(4096, driver.engine().alignment());
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public int blockSize() {
        return block;
    }

    @Override
    public AlignedBuffers buffers() {
        return driver.engine().buffers();
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCallback done) {
        driver.engine().read(offset, dst, done);
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua, IoCallback done) {
        int max = driver.requestBytesMax();
        int length = src.remaining();
        if (length <= max) {
            driver.submit(FrontRequest.Kind.WRITE, offset, length, fua, src, done);
            return;
        }
        Join parts = new Join(done);
        for (int at = 0; at < length; at += max) {
            ByteBuffer part = src.duplicate();
            part.position(src.position() + at).limit(src.position() + Math.min(length, at + max));
            parts.add();
            driver.submit(FrontRequest.Kind.WRITE, offset + at, part.remaining(), fua, part.slice(), parts);
        }
        parts.seal();
    }

    @Override
    public void flush(IoCallback done) {
        driver.submit(FrontRequest.Kind.FLUSH, 0, 0, false, null, done);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap, boolean fastOnly, boolean fua,
                            IoCallback done) {
        if (fastOnly) {
            // Both disks would have to zero cheaply; the core cannot promise that, and the
            // protocol lets a server say so.
            done.complete(-Errno.EOPNOTSUPP);
            return;
        }
        FrontRequest.Kind kind = mayUnmap && !fua ? FrontRequest.Kind.TRIM : FrontRequest.Kind.ZEROES;
        int max = driver.requestBytesMax();
        Join parts = new Join(done);
        for (long at = 0; at < length; at += max) {
            parts.add();
            driver.submit(kind, offset + at, (int) Math.min(max, length - at), fua, null, parts);
        }
        parts.seal();
    }
}
