package io.repl.protocol;

import java.nio.ByteBuffer;

/**
 * One complete frame whose header has been validated and whose body checksum matched. The
 * body is not yet interpreted; {@link MessageCodec#decode} does that.
 *
 * @param version the header version
 * @param type the message type
 * @param body the body bytes, owned by this frame (the decoder never reuses them); when
 *     {@code block} is present, only the fields before it
 * @param block the rest of the body, received into a buffer of its own (see
 *     {@link FrameDecoder#blockBuffers}), or null when {@code body} holds it all
 */
public record Frame(int version, MessageType type, ByteBuffer body, ByteBuffer block) {
    public Frame {
        if (type == null || body == null) {
            throw new IllegalArgumentException("type and body are required");
        }
    }

    /** A frame whose body is one buffer. */
    public Frame(int version, MessageType type, ByteBuffer body) {
        this(version, type, body, null);
    }

    /** A view of the body; reading it does not disturb the frame. */
    @Override
    public ByteBuffer body() {
        return body.duplicate();
    }

    /** A view of the separately received block, or null. */
    @Override
    public ByteBuffer block() {
        return block == null ? null : block.duplicate();
    }
}
