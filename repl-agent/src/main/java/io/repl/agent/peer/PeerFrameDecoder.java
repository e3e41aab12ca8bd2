package io.repl.agent.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.repl.io.kernel.NativeMemory;
import io.repl.protocol.DataWrite;
import io.repl.protocol.Message;
import io.repl.protocol.MessageDecoder;
import io.repl.protocol.ProtocolException;
import io.repl.protocol.ResyncData;
import io.repl.protocol.WireSettings;
import java.nio.ByteBuffer;
import java.util.ArrayList;
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
 *
 * <p>Given {@link PayloadBuffers}, the blocks of DATA and RS_DATA are received into them (and an
 * LZ4 block decompressed into a second one); the buffer a message carries as its payload is
 * lent on with it, any other goes straight back.
 */
public final class PeerFrameDecoder extends ByteToMessageDecoder {
    private final MessageDecoder decoder = new MessageDecoder();
    private final TrafficCounters counters;
    private final PayloadBuffers payloads;
    /**
     * The buffers taken for the frame being decoded, until a message or an error settles them:
     * the one its block is received into and, for an LZ4 block, the one it is decompressed into.
     */
    private final List<ByteBuffer> pending = new ArrayList<>(2);
    /** Bytes of the frame being decoded consumed so far. */
    private long frameBytes;
    private boolean failed;

    public PeerFrameDecoder(TrafficCounters counters) {
        this(counters, null);
    }

    /** {@code payloads}: where blocks are received; null for the heap, as the witness link does. */
    public PeerFrameDecoder(TrafficCounters counters, PayloadBuffers payloads) {
        this.counters = counters;
        this.payloads = payloads;
        if (payloads != null) {
            decoder.blockBuffers(bytes -> {
                ByteBuffer b = payloads.acquire(bytes);
                pending.add(b);
                return b;
            });
        }
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
            settle(null);
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
            settle(message);
            counters.receivedMessage(message, frameBytes);
            frameBytes = 0;
            out.add(message);
        }
    }

    /**
     * Lends on the pending buffer {@code message} (null: none) carries as its payload, and gives
     * every other back: the wire buffer of an LZ4 block, all of a frame that failed.
     */
    private void settle(Message message) {
        if (pending.isEmpty()) {
            return;
        }
        for (ByteBuffer b : pending) {
            if (carries(message, b)) {
                payloads.lend(b);
            } else {
                payloads.release(b);
            }
        }
        pending.clear();
    }

    /** Whether the message's payload is a view of {@code b}: the whole of it, from its start. */
    private static boolean carries(Message message, ByteBuffer b) {
        ByteBuffer data;
        if (message instanceof DataWrite) {
            data = ((DataWrite) message).data();
        } else if (message instanceof ResyncData) {
            data = ((ResyncData) message).data();
        } else {
            return false;
        }
        return data != null && data.isDirect() && data.remaining() == b.remaining()
                && NativeMemory.addressOf(data) == NativeMemory.addressOf(b);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        // A frame cut off by the close: its buffer goes back, nothing holds it.
        settle(null);
    }
}
