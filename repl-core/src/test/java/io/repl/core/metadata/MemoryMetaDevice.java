package io.repl.core.metadata;

/** A metadata area in memory for tests; every write is durable at once. */
public final class MemoryMetaDevice implements MetaDevice {
    private final byte[][] blocks;

    public MemoryMetaDevice(long count) {
        blocks = new byte[(int) count][];
    }

    @Override
    public long blockCount() {
        return blocks.length;
    }

    @Override
    public void read(long index, byte[] dst) {
        byte[] stored = blocks[(int) index];
        System.arraycopy(stored == null ? new byte[BLOCK_BYTES] : stored, 0, dst, 0, BLOCK_BYTES);
    }

    @Override
    public void write(long index, byte[] src) {
        blocks[(int) index] = src.clone();
    }

    @Override
    public void flush() {
    }
}
