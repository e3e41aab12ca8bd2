package io.repl.agent.nbd;

import java.nio.ByteBuffer;

/**
 * One decoded transmission request. For WRITE, {@code payload} holds the data in a buffer
 * from the volume's pool; whoever finishes the request gives it back.
 */
final class NbdRequest {
    final int flags;
    final int type;
    final long cookie;
    final long offset;
    final long length;
    ByteBuffer payload;
    /** When the request was decoded ({@link System#nanoTime()}): its latency runs from here to the reply. */
    final long decodedNanos = System.nanoTime();

    NbdRequest(int flags, int type, long cookie, long offset, long length) {
        this.flags = flags;
        this.type = type;
        this.cookie = cookie;
        this.offset = offset;
        this.length = length;
    }

    @Override
    public String toString() {
        return Nbd.commandName(type) + " offset=" + Long.toUnsignedString(offset) + " length=" + length
                + String.format(" flags=0x%x", flags);
    }
}
