package io.repl.core.sim;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The bytes the workload writes: every 4 KiB block carries its block number and a version in
 * its first 16 bytes and a filler derived from both, so a read tells which write it holds and a
 * torn or misplaced block is recognised. Version 0 is the all-zero block.
 */
final class BlockPattern {
    static final int BLOCK_BYTES = 4096;
    /** The version reported for a block that matches no write (torn, or corrupted). */
    static final long GARBAGE = -1;

    private BlockPattern() {
    }

    static void fill(ByteBuffer target, long block, long version) {
        ByteBuffer out = target.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(block);
        out.putLong(version);
        long filler = filler(block, version);
        for (int i = 16; i < BLOCK_BYTES; i += 8) {
            out.putLong(filler);
        }
    }

    static ByteBuffer blocks(long firstBlock, long[] versions) {
        ByteBuffer data = ByteBuffer.allocate(versions.length * BLOCK_BYTES);
        for (int i = 0; i < versions.length; i++) {
            fill(data.duplicate().position(i * BLOCK_BYTES), firstBlock + i, versions[i]);
        }
        return data;
    }

    /** The version a block holds: 0 for zeros, {@link #GARBAGE} if it matches no write of this block. */
    static long versionOf(byte[] bytes, long block) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long storedBlock = in.getLong();
        long version = in.getLong();
        if (storedBlock == 0 && version == 0) {
            for (byte b : bytes) {
                if (b != 0) {
                    return GARBAGE;
                }
            }
            return 0;
        }
        if (storedBlock != block || version <= 0) {
            return GARBAGE;
        }
        long filler = filler(block, version);
        for (int i = 16; i < BLOCK_BYTES; i += 8) {
            if (in.getLong(i) != filler) {
                return GARBAGE;
            }
        }
        return version;
    }

    /**
     * The version in a block's header only (no check of the filler): cheap, for checks that run
     * on every flush. {@link #GARBAGE} if the header names another block.
     */
    static long headerVersion(byte[] bytes, long block) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long storedBlock = in.getLong();
        long version = in.getLong();
        if (storedBlock == 0 && version == 0) {
            return 0;
        }
        return storedBlock == block && version > 0 ? version : GARBAGE;
    }

    private static long filler(long block, long version) {
        long x = block * 0x9E3779B97F4A7C15L ^ version * 0xC2B2AE3D27D4EB4FL;
        return x ^ (x >>> 29);
    }
}
