package io.repl.protocol;

import java.nio.ByteBuffer;

/**
 * A {@link FrameDecoder} and {@link MessageCodec} in one: bytes in, messages out, under one
 * set of {@link WireSettings}. This is what a connection handler holds.
 */
public final class MessageDecoder {
    private final FrameDecoder frames;
    private FrameDecoder.BlockBuffers blockBuffers;

    /** A decoder for a new connection, in the handshake phase. */
    public MessageDecoder() {
        this(WireSettings.handshake());
    }

    public MessageDecoder(WireSettings settings) {
        this.frames = new FrameDecoder(settings);
    }

    /** Applies new settings (for example after the handshake) to every later frame. */
    public void update(WireSettings settings) {
        frames.update(settings);
    }

    public WireSettings settings() {
        return frames.settings();
    }

    /**
     * See {@link FrameDecoder#blockBuffers}; an LZ4 block received so is decompressed into a
     * second buffer from {@code buffers}, and the first is then the caller's to take back.
     */
    public void blockBuffers(FrameDecoder.BlockBuffers buffers) {
        frames.blockBuffers(buffers);
        this.blockBuffers = buffers;
    }

    /**
     * Consumes bytes from {@code in} and returns the next message, or null when more bytes are
     * needed. Call again while it returns messages.
     *
     * @throws ProtocolException when the bytes break the protocol; the decoder is then failed
     */
    public Message decode(ByteBuffer in) {
        Frame frame = frames.decode(in);
        if (frame == null) {
            return null;
        }
        try {
            return MessageCodec.decode(frame, frames.settings(), blockBuffers);
        } catch (ProtocolException e) {
            // A bad body leaves the stream in step, but the peer is broken or hostile: make
            // the failure sticky so nothing more from this connection is believed.
            frames.fail(e);
            throw e;
        }
    }

    /** True after a protocol error. */
    public boolean isFailed() {
        return frames.isFailed();
    }

    /** The largest body buffer allocated so far. */
    public long bodyBytesPeak() {
        return frames.bodyBytesPeak();
    }
}
