package io.repl.agent.replication;

import io.repl.core.metadata.Metadata;
import java.io.IOException;

/**
 * The resource's part of an online resize, which the driver offers the core
 * ({@code CoreActions.diskCapacityBytes}, {@code resizeRefusal}, {@code resizeDisk}). Called on
 * the resource's loop, synchronously, like metadata I/O.
 */
public interface DiskResizer {

    /** The largest data size the backing device offers now; 0 when it cannot be told. */
    long capacityBytes();

    /** Why the disk cannot take {@code dataBytes}, or null. */
    String refusal(long dataBytes);

    /** Moves or grows the metadata to {@code dataBytes} and returns it; the driver then bounds the I/O. */
    Metadata resize(Metadata current, long dataBytes, long[] dirty) throws IOException;
}
