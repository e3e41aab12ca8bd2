package io.repl.core.replication;

/**
 * A byte range of the data device. Conflicts are decided on whole 4 KiB blocks, the bitmap's
 * granule, because resync moves whole blocks: two requests that only share a block still race.
 */
record ByteRange(long offset, long length) {
    static final int BLOCK_BYTES = 4096;

    ByteRange {
        if (offset < 0 || length <= 0) {
            throw new IllegalArgumentException("bad range " + offset + "+" + length);
        }
    }

    long end() {
        return offset + length;
    }

    long firstBlock() {
        return offset / BLOCK_BYTES;
    }

    long endBlock() {
        return (offset + length + BLOCK_BYTES - 1) / BLOCK_BYTES;
    }

    boolean sharesBlockWith(ByteRange other) {
        return firstBlock() < other.endBlock() && other.firstBlock() < endBlock();
    }

    @Override
    public String toString() {
        return offset + "+" + length;
    }
}
