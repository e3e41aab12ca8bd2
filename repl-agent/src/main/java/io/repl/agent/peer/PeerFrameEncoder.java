package io.repl.agent.peer;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.repl.protocol.FrameEncoder;
import io.repl.protocol.Message;
import io.repl.protocol.OutboundFrame;
import io.repl.protocol.WireSettings;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Encodes {@link Message}s with the protocol's {@link FrameEncoder} and hands Netty the
 * frame's two parts wrapped, not copied.
 *
 * <p>The header and fields go out as one small buffer and the block as a second one. Two
 * buffers rather than one composite: the epoll transport writes a direct buffer as is but
 * copies any buffer that is not entirely direct, so keeping the (usually direct) block apart
 * from the small heap header keeps the 1 MiB payload from being copied.
 */
public final class PeerFrameEncoder extends MessageToMessageEncoder<Object> {
    /** A message already framed elsewhere (see {@link Lz4Workers}); written as is. */
    record Encoded(Message message, OutboundFrame frame) {
    }

    private final FrameEncoder encoder = new FrameEncoder();
    private final TrafficCounters counters;

    public PeerFrameEncoder(TrafficCounters counters) {
        super(Object.class);
        this.counters = counters;
    }

    /** Applies negotiated settings to every later frame. */
    public void update(WireSettings settings) {
        encoder.update(settings);
    }

    @Override
    public boolean acceptOutboundMessage(Object msg) {
        return msg instanceof Message || msg instanceof Encoded;
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) {
        Message message;
        OutboundFrame frame;
        if (msg instanceof Encoded e) {
            message = e.message();
            frame = e.frame();
        } else {
            message = (Message) msg;
            frame = encoder.encode(message);
        }
        out.add(Unpooled.wrappedBuffer(frame.head()));
        ByteBuffer block = frame.block();
        if (block.hasRemaining()) {
            out.add(Unpooled.wrappedBuffer(block));
        }
        counters.sent(message, frame.bytes());
    }
}
