package io.repl.protocol;

import java.nio.ByteBuffer;

/**
 * One complete frame whose header has been validated and whose body checksum matched. The
 * body is not yet interpreted; {@link MessageCodec#decode} does that.
 *
 * @param version the header version
 * @param type the message type
 * @param body the body bytes, owned by this frame (the decoder never reuses them)
 */
public record Frame(int version, MessageType type, ByteBuffer body) {
    public Frame {
        if (type == null || body == null) {
            throw new IllegalArgumentException("type and body are required");
        }
    }

    /** A view of the body; reading it does not disturb the frame. */
    @Override
    public ByteBuffer body() {
        return body.duplicate();
    }
}
