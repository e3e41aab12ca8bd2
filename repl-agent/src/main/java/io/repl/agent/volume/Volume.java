package io.repl.agent.volume;

import io.repl.io.AlignedBuffers;
import io.repl.io.IoCallback;
import java.nio.ByteBuffer;

/**
 * What the NBD front end serves: a resource's data as seen by its local users.
 *
 * <p>A standalone resource maps this straight onto its block engine; a replicated one puts
 * the replication core in between (mirroring writes, acknowledging per the protocol). The
 * front end validates requests (alignment, range, read-only) before calling in, so
 * implementations may treat a bad request as a programmer error.
 */
public interface Volume {
    /** Usable bytes. */
    long size();

    /** Alignment of offsets and lengths: the export's minimum block size. */
    int blockSize();

    /** The request size clients should prefer: whole blocks of the disk below. */
    default int preferredBlockSize() {
        return Math.max(blockSize(), 4096);
    }

    /** Where request payload buffers come from. */
    AlignedBuffers buffers();

    void read(long offset, ByteBuffer dst, IoCallback done);

    /** Writes; with {@code fua}, completes only once the data is durable. */
    void write(long offset, ByteBuffer src, boolean fua, IoCallback done);

    /** Completes once every write completed before the call is durable. */
    void flush(IoCallback done);

    /**
     * Zeroes a range. {@code mayUnmap} lets the disk deallocate it (a trim); {@code fastOnly}
     * fails with EOPNOTSUPP rather than writing zeroes block by block.
     */
    void writeZeroes(long offset, long length, boolean mayUnmap, boolean fastOnly, boolean fua, IoCallback done);
}
