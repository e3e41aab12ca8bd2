package io.repl.core.metadata;

/**
 * A metadata device that keeps nothing: reads return zeroes, writes and flushes vanish. A
 * Diskless node runs on it, so the core's bookkeeping goes on in memory while the real
 * metadata device is released.
 */
public final class DiscardingMetaDevice implements MetaDevice {
    private final long blocks;

    public DiscardingMetaDevice(long blocks) {
        this.blocks = blocks;
    }

    @Override
    public long blockCount() {
        return blocks;
    }

    @Override
    public void read(long blockIndex, byte[] dst) {
        java.util.Arrays.fill(dst, (byte) 0);
    }

    @Override
    public void write(long blockIndex, byte[] src) {
    }

    @Override
    public void flush() {
    }
}
