package io.repl.core.metadata;

import java.io.IOException;

/**
 * The metadata area of one resource, addressed in fixed-size blocks.
 *
 * <p>The agent adapts this to a region of a file: "internal" metadata is the tail of the backing
 * device (see {@link MetadataLayout#internal(long)}), "external" metadata is a separate file
 * starting at offset 0. The simulator adapts it to a simulated disk. Block 0 is the first block of
 * the area, whatever its byte offset in the underlying file.
 *
 * <p>Writes need not be durable until {@link #flush()} returns, and a crash may tear a block that
 * was being written: every format in this package is designed for exactly that.
 */
public interface MetaDevice {

    /** Every read and write transfers exactly this many bytes. */
    int BLOCK_BYTES = 4096;

    /** Number of blocks in the metadata area. */
    long blockCount();

    /**
     * Reads block {@code blockIndex} into {@code dst}, which must be exactly {@link #BLOCK_BYTES}
     * long.
     */
    void read(long blockIndex, byte[] dst) throws IOException;

    /**
     * Writes {@code src}, exactly {@link #BLOCK_BYTES} long, to block {@code blockIndex}. The write
     * may stay volatile until the next {@link #flush()}.
     */
    void write(long blockIndex, byte[] src) throws IOException;

    /** Makes every write that returned before this call durable. */
    void flush() throws IOException;
}
