package io.repl.core.sim;

import io.repl.core.metadata.MetaDevice;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A metadata device in memory with the crash model of the metadata tests' CrashingMetaDevice:
 * flushed writes are durable; at a crash each unflushed write may land, be lost, or tear.
 */
final class SimMetaDevice implements MetaDevice {
    private static final int SECTOR_BYTES = 512;
    private final byte[][] durable;
    private final List<long[]> volatileOrder = new ArrayList<>();
    private final List<byte[]> volatileData = new ArrayList<>();
    /** A failing device: every write and flush fails with an I/O error, reads still work. */
    boolean failing;

    SimMetaDevice(long blockCount) {
        this.durable = new byte[(int) blockCount][];
    }

    @Override
    public long blockCount() {
        return durable.length;
    }

    @Override
    public void read(long blockIndex, byte[] dst) {
        for (int i = volatileOrder.size() - 1; i >= 0; i--) {
            if (volatileOrder.get(i)[0] == blockIndex) {
                System.arraycopy(volatileData.get(i), 0, dst, 0, BLOCK_BYTES);
                return;
            }
        }
        byte[] stored = durable[(int) blockIndex];
        if (stored == null) {
            java.util.Arrays.fill(dst, (byte) 0);
        } else {
            System.arraycopy(stored, 0, dst, 0, BLOCK_BYTES);
        }
    }

    @Override
    public void write(long blockIndex, byte[] src) throws IOException {
        if (failing) {
            throw new IOException("simulated metadata write error (EIO) at block " + blockIndex);
        }
        if (src.length != BLOCK_BYTES || blockIndex < 0 || blockIndex >= durable.length) {
            throw new IllegalArgumentException("bad metadata write at " + blockIndex);
        }
        volatileOrder.add(new long[] {blockIndex});
        volatileData.add(src.clone());
    }

    @Override
    public void flush() throws IOException {
        if (failing) {
            throw new IOException("simulated metadata flush error (EIO)");
        }
        for (int i = 0; i < volatileOrder.size(); i++) {
            durable[(int) volatileOrder.get(i)[0]] = volatileData.get(i);
        }
        volatileOrder.clear();
        volatileData.clear();
    }

    void crash(SplittableRandom random) {
        for (int i = 0; i < volatileOrder.size(); i++) {
            int block = (int) volatileOrder.get(i)[0];
            int fate = random.nextInt(3);
            if (fate == 0) {
                durable[block] = volatileData.get(i);
            } else if (fate == 2) {
                byte[] torn = durable[block] == null ? new byte[BLOCK_BYTES] : durable[block].clone();
                for (int sector = 0; sector < BLOCK_BYTES / SECTOR_BYTES; sector++) {
                    if (random.nextBoolean()) {
                        System.arraycopy(volatileData.get(i), sector * SECTOR_BYTES, torn, sector * SECTOR_BYTES,
                                SECTOR_BYTES);
                    }
                }
                durable[block] = torn;
            }
        }
        volatileOrder.clear();
        volatileData.clear();
    }
}
