package io.repl.protocol;

import java.nio.ByteBuffer;

/**
 * An encoded frame ready for a gathering write: {@code head} holds the header and the message
 * fields, {@code block} the block by reference (empty for most messages). Writing
 * {@link #buffers()} in order puts the frame on the wire.
 *
 * @param head header plus fields
 * @param block the block or bitmap data, possibly empty, not copied
 */
public record OutboundFrame(ByteBuffer head, ByteBuffer block) {

    /** Views of both parts for a gathering write; writing them does not disturb this frame. */
    public ByteBuffer[] buffers() {
        return new ByteBuffer[] {head.duplicate(), block.duplicate()};
    }

    /** The total number of bytes on the wire. */
    public int bytes() {
        return head.remaining() + block.remaining();
    }

    /** The whole frame copied into one buffer, for tests and the simulator. */
    public ByteBuffer toByteBuffer() {
        ByteBuffer out = ByteBuffer.allocate(bytes());
        out.put(head.duplicate()).put(block.duplicate());
        return out.flip();
    }

    @Override
    public ByteBuffer head() {
        return head.duplicate();
    }

    @Override
    public ByteBuffer block() {
        return block.duplicate();
    }
}
