package io.repl.agent.peer;

import java.nio.ByteBuffer;

/**
 * Memory for the blocks of the peer's DATA and RS_DATA: aligned direct buffers from the disk's
 * pool, so that the disk writes what the socket delivered without another copy. Every call
 * comes on the link's event loop.
 */
public interface PayloadBuffers {
    /** A buffer with position 0 and limit {@code bytes}, for the decoder to fill. */
    ByteBuffer acquire(int bytes);

    /** Takes back a buffer no message kept: an LZ4 block's wire bytes (once decompressed), a frame that failed. */
    void release(ByteBuffer buffer);

    /**
     * The message about to be delivered carries {@code buffer} as its payload: from now on the
     * disk write of that payload owns it and gives it back when the disk is done with it.
     */
    void lend(ByteBuffer buffer);
}
