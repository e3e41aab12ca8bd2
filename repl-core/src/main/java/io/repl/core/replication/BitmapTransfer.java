package io.repl.core.replication;

import io.repl.core.metadata.DirtyBitmap;
import io.repl.protocol.BitmapChunk;
import java.util.Arrays;

/**
 * Sends our dirty bitmap as run-length BITMAP chunks and ORs the peer's chunks into it, so both
 * nodes resync the union: the source's writes since the common generation and the target's own
 * (the activity-log extents of a crashed Primary, blocks a broken resync did not finish).
 */
final class BitmapTransfer {
    /** Runs per chunk: at most 5 bytes each keeps a chunk under the 64 KiB data limit. */
    private static final int RUNS_MAX = 12_000;
    /** Bits per chunk, well under the u32 bit count. */
    private static final long CHUNK_BITS_MAX = 1L << 31;

    private final CoreContext ctx;
    private long expectedStartBit;
    private boolean received;

    BitmapTransfer(CoreContext ctx) {
        this.ctx = ctx;
    }

    void reset() {
        expectedStartBit = 0;
        received = false;
    }

    boolean received() {
        return received;
    }

    void send() {
        DirtyBitmap bitmap = ctx.meta.bitmap();
        long blocks = bitmap.blocks();
        long start = 0;
        long chunksMax = blocks / 2 + 2;
        for (long chunk = 0; chunk < chunksMax && start < blocks; chunk++) {
            long[] runs = new long[RUNS_MAX];
            int count = 0;
            long limit = Math.min(blocks, start + CHUNK_BITS_MAX);
            long position = start;
            while (position < limit && count < RUNS_MAX - 1) {
                long dirty = bitmap.nextDirtyBlock(position);
                long clearEnd = dirty < 0 || dirty > limit ? limit : dirty;
                runs[count++] = clearEnd - position;
                position = clearEnd;
                if (position >= limit) {
                    break;
                }
                long setEnd = bitmap.nextCleanBlock(position, limit);
                runs[count++] = setEnd - position;
                position = setEnd;
            }
            ctx.send(BitmapChunk.rle(start, Arrays.copyOf(runs, count), position >= blocks));
            start = position;
        }
        if (start < blocks) {
            throw new IllegalStateException("bitmap send stopped at bit " + start + " of " + blocks);
        }
    }

    /** ORs one chunk in; returns false (after closing the connection) if the chunk is bad. */
    boolean onChunk(BitmapChunk chunk) {
        DirtyBitmap bitmap = ctx.meta.bitmap();
        if (received || chunk.startBit() != expectedStartBit
                || chunk.startBit() + chunk.bitCount() > bitmap.blocks()) {
            ctx.protocolError("BITMAP chunk at bit " + chunk.startBit() + " of " + chunk.bitCount()
                    + " bits; expected one at " + expectedStartBit + " within " + bitmap.blocks() + " bits");
            return false;
        }
        if (chunk.isLast() && chunk.startBit() + chunk.bitCount() != bitmap.blocks()) {
            ctx.protocolError("last BITMAP chunk ends at bit " + (chunk.startBit() + chunk.bitCount())
                    + ", the bitmap has " + bitmap.blocks());
            return false;
        }
        chunk.forEachRun((first, count, set) -> {
            if (set) {
                bitmap.setBlocks(first, first + count);
            }
        });
        expectedStartBit = chunk.startBit() + chunk.bitCount();
        received = chunk.isLast();
        return true;
    }
}
