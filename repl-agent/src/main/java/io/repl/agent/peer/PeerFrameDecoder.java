package io.repl.agent.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.repl.protocol.Message;
import io.repl.protocol.MessageDecoder;
import io.repl.protocol.ProtocolException;
import io.repl.protocol.WireSettings;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Adapts the streaming {@link MessageDecoder} to Netty: bytes in, {@link Message}s out.
 *
 * <p>It emits at most one message per {@link #decode} call. Netty hands that message to the
 * next handler before calling again, so the handshake can switch this decoder to the session
 * settings right after the frame that completed it, before the next frame is parsed.
 *
 * <p>A {@link ProtocolException} is passed on with {@code fireExceptionCaught} (the handler
 * after us closes the connection and names the field); from then on every byte is dropped,
 * because nothing more from that peer is believed.
 */
public final class PeerFrameDecoder extends ByteToMessageDecoder {
    private final MessageDecoder decoder = new MessageDecoder();
    private final TrafficCounters counters;
    /** Bytes of the frame being decoded consumed so far. */
    private long frameBytes;
    private boolean failed;

    public PeerFrameDecoder(TrafficCounters counters) {
        this.counters = counters;
    }

    /** Applies negotiated settings to every frame whose header is not yet complete. */
    public void update(WireSettings settings) {
        decoder.update(settings);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int readable = in.readableBytes();
        if (failed) {
            in.skipBytes(readable);
            return;
        }
        // A view, not a copy: the default cumulator keeps the bytes in one buffer, and the
        // decoder copies what it keeps into its own frame buffers.
        ByteBuffer view = in.nioBuffer(in.readerIndex(), readable);
        Message message;
        try {
            message = decoder.decode(view);
        } catch (ProtocolException e) {
            failed = true;
            counters.received(readable);
            in.skipBytes(readable);
            ctx.fireExceptionCaught(e);
            return;
        }
        int consumed = readable - view.remaining();
        in.skipBytes(consumed);
        counters.received(consumed);
        // Frames follow each other: what was consumed since the last message belongs to this one.
        frameBytes += consumed;
        if (message != null) {
            counters.receivedMessage(message, frameBytes);
            frameBytes = 0;
            out.add(message);
        }
    }
}
