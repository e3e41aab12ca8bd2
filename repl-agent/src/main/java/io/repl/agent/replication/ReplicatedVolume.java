package io.repl.agent.replication;

import io.repl.agent.volume.Join;
import io.repl.agent.volume.Volume;
import io.repl.core.replication.FrontRequest;
import io.repl.io.AlignedBuffers;
import io.repl.io.BlockEngine;
import io.repl.io.Errno;
import io.repl.io.IoCallback;
import java.nio.ByteBuffer;

/**
 * A mirrored volume: reads come from the local disk (or the peer, see {@link #read}); writes,
 * flushes and zeroing go through the replication core, which acknowledges them per the
 * resource's protocol. Requests larger than the core takes at once are split; the parts
 * complete together, the first error winning.
 */
public final class ReplicatedVolume implements Volume {
    /** Parts of one trim or zeroing in the core at once. */
    static final int ZEROING_PARTS_IN_FLIGHT = 16;
    private final CoreDriver driver;
    private final int block;

    public ReplicatedVolume(CoreDriver driver) {
        this.driver = driver;
        this.block = Math.max(4096, driver.alignment());
    }

    /** The core's data size now: an online resize changes it. */
    @Override
    public long size() {
        return driver.dataBytes();
    }

    @Override
    public int blockSize() {
        return block;
    }

    @Override
    public AlignedBuffers buffers() {
        return driver.buffers();
    }

    /**
     * From the local disk while it can serve; otherwise (Diskless, or a Primary's attached disk
     * still resyncing) through the core from the peer. A read the local disk fails with EIO goes
     * to the core too, which applies {@code on-io-error}: detach and read from the peer, or pass
     * the error on.
     */
    @Override
    public void read(long offset, ByteBuffer dst, IoCallback done) {
        BlockEngine e = driver.engine();
        if (e == null || driver.readsThroughPeer()) {
            driver.submitRead(offset, dst, false, done);
            return;
        }
        e.read(offset, dst, r -> {
            if (r == -Errno.EIO) {
                driver.submitRead(offset, dst, true, done);
            } else {
                done.complete(r);
            }
        });
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
        new ZeroingParts(kind, offset, length, fua, done).start();
    }

    /**
     * One trim or zeroing, split into parts of at most {@code requestBytesMax}, of which at most
     * {@link #ZEROING_PARTS_IN_FLIGHT} are in the core at once: a 4 GiB trim is thousands of
     * parts, more than the core queues for all clients together. The first error wins; no part
     * starts after it.
     */
    private final class ZeroingParts implements IoCallback {
        private final FrontRequest.Kind kind;
        private final long end;
        private final boolean fua;
        private final IoCallback done;
        private long next;
        private int inFlight;
        private int firstError;
        private boolean completed;

        ZeroingParts(FrontRequest.Kind kind, long offset, long length, boolean fua, IoCallback done) {
            this.kind = kind;
            this.next = offset;
            this.end = offset + length;
            this.fua = fua;
            this.done = done;
        }

        void start() {
            IoCallback finished = null;
            synchronized (this) {
                int max = driver.requestBytesMax();
                while (inFlight < ZEROING_PARTS_IN_FLIGHT && next < end && firstError == 0) {
                    int part = (int) Math.min(max, end - next);
                    long at = next;
                    next += part;
                    inFlight++;
                    // submit only queues onto the core's loop; the completion never runs inside it.
                    driver.submit(kind, at, part, fua, null, this);
                }
                if (inFlight == 0 && !completed) {
                    completed = true;
                    finished = done;
                }
            }
            if (finished != null) {
                finished.complete(firstError);
            }
        }

        @Override
        public void complete(int result) {
            synchronized (this) {
                inFlight--;
                if (result != 0 && firstError == 0) {
                    firstError = result;
                }
            }
            start();
        }
    }
}
