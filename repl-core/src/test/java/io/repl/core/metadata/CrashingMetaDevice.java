package io.repl.core.metadata;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A metadata device in memory that models what a real disk may do at a crash.
 *
 * <p>Flushed writes are durable. Writes since the last flush are volatile: at a crash any subset
 * of them may have reached the disk. The write a crash interrupts may be lost or torn (some
 * 512-byte sectors new, the rest old). {@link #crashAfter(long)} arms a crash at a write position:
 * that write and every later call throw, like a process that died there.
 */
final class CrashingMetaDevice implements MetaDevice {

    /** What the disk kept of the volatile writes when the crash came. */
    enum Mode {
        /** Every volatile write landed; the interrupted one did not. */
        CLEAN_CUT,
        /** Every volatile write landed; the interrupted one landed as its first half only. */
        TORN_HALF,
        /** A random subset of volatile writes landed; the interrupted one tore at random sectors. */
        LOST_AND_TORN
    }

    private static final int SECTOR_BYTES = 512;

    /** A write the device accepted. */
    private record Write(long block, byte[] data) {
    }

    private final long blockCount;
    private final Map<Long, byte[]> durable = new HashMap<>();
    private final List<Write> volatileWrites = new ArrayList<>();
    private long crashAtWrite = Long.MAX_VALUE;
    private long writes;
    private long flushes;
    private Write interrupted;
    private boolean crashed;

    CrashingMetaDevice(long blockCount) {
        this.blockCount = blockCount;
    }

    /** Arms a crash: write number {@code writeIndex} (0-based, counted from now) never returns. */
    CrashingMetaDevice crashAfter(long writeIndex) {
        crashAtWrite = writes + writeIndex;
        return this;
    }

    long writes() {
        return writes;
    }

    long flushes() {
        return flushes;
    }

    boolean crashed() {
        return crashed;
    }

    /** A durable copy of this device's current state as if everything was flushed. */
    CrashingMetaDevice copyFlushed() {
        CrashingMetaDevice copy = new CrashingMetaDevice(blockCount);
        durable.forEach((block, data) -> copy.durable.put(block, data.clone()));
        for (Write write : volatileWrites) {
            copy.durable.put(write.block, write.data.clone());
        }
        return copy;
    }

    /** The device a restart after the crash finds, according to {@code mode}. */
    CrashingMetaDevice afterCrash(Mode mode, Random random) {
        CrashingMetaDevice image = new CrashingMetaDevice(blockCount);
        durable.forEach((block, data) -> image.durable.put(block, data.clone()));
        for (Write write : volatileWrites) {
            if (mode != Mode.LOST_AND_TORN || random.nextBoolean()) {
                image.durable.put(write.block, write.data.clone());
            }
        }
        if (interrupted != null && mode != Mode.CLEAN_CUT) {
            byte[] torn = image.current(interrupted.block);
            for (int sector = 0; sector < BLOCK_BYTES / SECTOR_BYTES; sector++) {
                boolean lands = mode == Mode.TORN_HALF ? sector < BLOCK_BYTES / SECTOR_BYTES / 2
                        : random.nextBoolean();
                if (lands) {
                    System.arraycopy(interrupted.data, sector * SECTOR_BYTES, torn,
                            sector * SECTOR_BYTES, SECTOR_BYTES);
                }
            }
            image.durable.put(interrupted.block, torn);
        }
        return image;
    }

    /** Overwrites a block durably, bypassing the crash model: for corrupting on purpose. */
    void poke(long block, byte[] data) {
        durable.put(block, data.clone());
    }

    /** The block as a read would see it now. */
    byte[] current(long block) {
        for (int i = volatileWrites.size() - 1; i >= 0; i--) {
            if (volatileWrites.get(i).block == block) {
                return volatileWrites.get(i).data.clone();
            }
        }
        byte[] data = durable.get(block);
        return data == null ? new byte[BLOCK_BYTES] : data.clone();
    }

    @Override
    public long blockCount() {
        return blockCount;
    }

    @Override
    public void read(long blockIndex, byte[] dst) throws IOException {
        checkAlive();
        check(blockIndex, dst);
        System.arraycopy(current(blockIndex), 0, dst, 0, BLOCK_BYTES);
    }

    @Override
    public void write(long blockIndex, byte[] src) throws IOException {
        checkAlive();
        check(blockIndex, src);
        if (writes == crashAtWrite) {
            crashed = true;
            interrupted = new Write(blockIndex, src.clone());
            throw new IOException("simulated crash at write " + writes);
        }
        writes++;
        volatileWrites.add(new Write(blockIndex, src.clone()));
    }

    @Override
    public void flush() throws IOException {
        checkAlive();
        for (Write write : volatileWrites) {
            durable.put(write.block, write.data);
        }
        volatileWrites.clear();
        flushes++;
    }

    private void checkAlive() throws IOException {
        if (crashed) {
            throw new IOException("device crashed");
        }
    }

    private void check(long blockIndex, byte[] buffer) {
        if (blockIndex < 0 || blockIndex >= blockCount || buffer.length != BLOCK_BYTES) {
            throw new IllegalArgumentException("bad block " + blockIndex + " or buffer of "
                    + buffer.length + " bytes: " + Arrays.toString(new long[] {blockCount}));
        }
    }
}
