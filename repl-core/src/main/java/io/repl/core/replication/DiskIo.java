package io.repl.core.replication;

import java.nio.ByteBuffer;

/**
 * One data-disk operation the core asks the driver to submit. The driver answers with
 * {@link ReplicationCore#onIoCompleted} carrying the same {@code ioId}.
 *
 * @param ioId chosen by the core, unique per core instance
 * @param kind what to do
 * @param offset byte offset (0 for FLUSH)
 * @param length bytes (0 for FLUSH)
 * @param data for WRITE the bytes to write, by reference (the front end's or the peer's buffer,
 *     never copied by the core); null otherwise. For READ the driver supplies the buffer in the
 *     completion.
 * @param fua for WRITE and ZERO: the data must be durable when the completion is reported
 */
public record DiskIo(long ioId, Kind kind, long offset, int length, ByteBuffer data, boolean fua) {

    /** The operations a block engine offers. */
    public enum Kind { READ, WRITE, FLUSH, ZERO }
}
