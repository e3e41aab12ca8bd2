package io.repl.core.sim;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * A simulated data disk with a volatile write cache. A write lands in the cache when it
 * completes; a flush makes durable what had landed when it was submitted; FUA makes its own
 * blocks durable. A crash keeps, loses or tears (per 512-byte sector) every cached block.
 */
final class SimDisk {
    private static final int SECTOR_BYTES = 512;
    private static final byte[] ZEROS = new byte[BlockPattern.BLOCK_BYTES];
    private final int blocks;
    private final byte[][] current;
    private final byte[][] durable;
    private final TreeSet<Integer> cached = new TreeSet<>();
    /** Per block: the write that produced the cached and the durable bytes; durable never goes back. */
    private final long[] currentStamp;
    private final long[] durableStamp;
    private long stamps;
    /** A 64-bit hash per block, so the per-step checks compare longs instead of 4 KiB blocks. */
    private final long[] currentHash;
    private final long[] durableHash;
    private static final long ZERO_HASH = hash(ZEROS);
    /** Marks a hash not computed yet: hashing every write would dominate the run time. */
    private static final long UNHASHED = 0;

    /** The blocks a flush will make durable, with their bytes (and stamps) at submission. */
    record FlushSnapshot(int[] blocks, byte[][] contents, long[] stamps, long[] hashes) {
    }

    SimDisk(long dataBytes) {
        this.blocks = (int) (dataBytes / BlockPattern.BLOCK_BYTES);
        this.current = new byte[blocks][];
        this.durable = new byte[blocks][];
        this.currentStamp = new long[blocks];
        this.durableStamp = new long[blocks];
        this.currentHash = new long[blocks];
        this.durableHash = new long[blocks];
        java.util.Arrays.fill(currentHash, ZERO_HASH);
        java.util.Arrays.fill(durableHash, ZERO_HASH);
    }

    static long hash(byte[] bytes) {
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes);
        long h = 0xcbf29ce484222325L;
        while (in.remaining() >= Long.BYTES) {
            h = (h ^ in.getLong()) * 0x100000001b3L;
            h ^= h >>> 29;
        }
        return h;
    }

    int blocks() {
        return blocks;
    }

    void write(long offset, ByteBuffer data, boolean fua) {
        ByteBuffer in = data.duplicate();
        long position = offset;
        while (in.hasRemaining()) {
            int block = (int) (position / BlockPattern.BLOCK_BYTES);
            int within = (int) (position % BlockPattern.BLOCK_BYTES);
            int n = Math.min(in.remaining(), BlockPattern.BLOCK_BYTES - within);
            byte[] next = block(block).clone();
            in.get(next, within, n);
            current[block] = next;
            currentStamp[block] = ++stamps;
            currentHash[block] = UNHASHED;
            if (fua) {
                durable[block] = next;
                durableStamp[block] = currentStamp[block];
                durableHash[block] = currentHash[block];
                cached.remove(block);
            } else {
                cached.add(block);
            }
            position += n;
        }
    }

    void zero(long offset, int length, boolean fua) {
        write(offset, ByteBuffer.allocate(length), fua);
    }

    ByteBuffer read(long offset, int length) {
        ByteBuffer out = ByteBuffer.allocate(length);
        long position = offset;
        while (out.hasRemaining()) {
            int block = (int) (position / BlockPattern.BLOCK_BYTES);
            int within = (int) (position % BlockPattern.BLOCK_BYTES);
            int n = Math.min(out.remaining(), BlockPattern.BLOCK_BYTES - within);
            out.put(block(block), within, n);
            position += n;
        }
        return out.flip();
    }

    FlushSnapshot snapshotForFlush() {
        int[] which = new int[cached.size()];
        byte[][] contents = new byte[which.length][];
        long[] at = new long[which.length];
        long[] hashes = new long[which.length];
        int i = 0;
        for (int block : cached) {
            which[i] = block;
            contents[i] = current[block];
            at[i] = currentStamp[block];
            hashes[i] = currentHash[block];
            i++;
        }
        return new FlushSnapshot(which, contents, at, hashes);
    }

    void applyFlush(FlushSnapshot snapshot) {
        for (int i = 0; i < snapshot.blocks().length; i++) {
            int block = snapshot.blocks()[i];
            if (snapshot.stamps()[i] <= durableStamp[block]) {
                // A later flush or FUA already made newer bytes durable.
                continue;
            }
            durable[block] = snapshot.contents()[i];
            durableStamp[block] = snapshot.stamps()[i];
            durableHash[block] = snapshot.hashes()[i];
            if (current[block] == snapshot.contents()[i]) {
                cached.remove(block);
            }
        }
    }

    /** Power loss: each cached block is kept, lost, or torn sector by sector. */
    void crash(SplittableRandom random) {
        for (int block : cached) {
            int fate = random.nextInt(3);
            if (fate == 0) {
                durable[block] = current[block];
                durableStamp[block] = currentStamp[block];
                durableHash[block] = currentHash[block];
            } else if (fate == 2) {
                byte[] torn = block(durable, block).clone();
                for (int sector = 0; sector < BlockPattern.BLOCK_BYTES / SECTOR_BYTES; sector++) {
                    if (random.nextBoolean()) {
                        System.arraycopy(current[block], sector * SECTOR_BYTES, torn, sector * SECTOR_BYTES,
                                SECTOR_BYTES);
                    }
                }
                durable[block] = torn;
                durableHash[block] = UNHASHED;
            }
        }
        cached.clear();
        System.arraycopy(durable, 0, current, 0, blocks);
        System.arraycopy(durableStamp, 0, currentStamp, 0, blocks);
        System.arraycopy(durableHash, 0, currentHash, 0, blocks);
    }

    /** The block as it would be after a power loss that keeps nothing cached. */
    byte[] durableBlock(int block) {
        return block(durable, block);
    }

    /** The block as a read sees it now (cache included). */
    byte[] block(int block) {
        return block(current, block);
    }

    private static byte[] block(byte[][] image, int block) {
        byte[] bytes = image[block];
        return bytes == null ? ZEROS : bytes;
    }

    boolean sameBlock(SimDisk other, int block) {
        return Arrays.equals(block(block), other.block(block));
    }

    /** Blocks whose bytes differ, compared byte by byte (for the final check). */
    List<Integer> differingBlocks(SimDisk other) {
        List<Integer> differing = new ArrayList<>();
        for (int block = 0; block < blocks; block++) {
            if (!sameBlock(other, block)) {
                differing.add(block);
            }
        }
        return differing;
    }

    /** Blocks whose hashes differ: the cheap per-step comparison. */
    List<Integer> differingBlocksByHash(SimDisk other) {
        List<Integer> differing = new ArrayList<>();
        for (int block = 0; block < blocks; block++) {
            if (currentHash(block) != other.currentHash(block)) {
                differing.add(block);
            }
        }
        return differing;
    }

    private long currentHash(int block) {
        if (currentHash[block] == UNHASHED) {
            long h = hash(block(block));
            currentHash[block] = h == UNHASHED ? 1 : h;
        }
        return currentHash[block];
    }
}
