package io.repl.bench;

import io.repl.core.metadata.DirtyBitmap;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The dirty bitmap of a 64 GiB volume (16 Mi bits, 2 MiB of words) under what the write and
 * resync paths ask of it.
 *
 * <ul>
 *   <li>{@code markDirtyThenClean4k}: one 4 KiB write at a random offset marked (a standalone
 *       write, or a write the peer lost) and the same block cleaned (its resync landed): two
 *       word updates that change a bit, keep the count and mark the page changed.
 *   <li>{@code dirtyBytes}: the out-of-sync count that every status and every core event reads.
 *   <li>{@code resyncStep}: what a SyncTarget does per request it sends: the next dirty block
 *       from its cursor, then the end of that run, capped at 1 MiB (256 blocks) as
 *       {@code ResyncTarget.fill} caps it. The cursor moves past the run and wraps at the end;
 *       nothing is cleared, so every pass sees the same bitmap. {@code dirty} sets how much is
 *       marked: random 4 KiB blocks at 1 in 10,000 or 1 in 100, or {@code full} (a full sync).
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx512m"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class BitmapBench {
    private static final long VOLUME_BYTES = 64L << 30;
    private static final int BLOCK_BYTES = 4096;
    private static final long RUN_BLOCKS_MAX = (1 << 20) / BLOCK_BYTES;
    private static final int OFFSETS = 1 << 16;

    @Param({"0.0001", "0.01", "full"})
    public String dirty;

    private DirtyBitmap bitmap;
    private long[] offsets;
    private int next;
    private long cursor;

    @Setup(Level.Trial)
    public void fill() {
        bitmap = new DirtyBitmap(VOLUME_BYTES);
        SplittableRandom random = new SplittableRandom(7);
        if (dirty.equals("full")) {
            bitmap.markAllDirty();
        } else {
            long marks = (long) (bitmap.blocks() * Double.parseDouble(dirty));
            for (long i = 0; i < marks; i++) {
                long block = random.nextLong(bitmap.blocks());
                bitmap.setBlocks(block, block + 1);
            }
        }
        offsets = new long[OFFSETS];
        for (int i = 0; i < OFFSETS; i++) {
            offsets[i] = random.nextLong(bitmap.blocks()) * BLOCK_BYTES;
        }
    }

    @Benchmark
    public long markDirtyThenClean4k() {
        long offset = offsets[next++ & (OFFSETS - 1)];
        return bitmap.markDirty(offset, BLOCK_BYTES) + bitmap.markClean(offset, BLOCK_BYTES);
    }

    @Benchmark
    public long dirtyBytes() {
        return bitmap.dirtyBytes();
    }

    @Benchmark
    public long resyncStep() {
        long first = bitmap.nextDirtyBlock(cursor);
        if (first < 0) {
            cursor = 0;
            first = bitmap.nextDirtyBlock(0);
        }
        long end = bitmap.nextCleanBlock(first, first + RUN_BLOCKS_MAX);
        cursor = end >= bitmap.blocks() ? 0 : end;
        return end - first;
    }
}
