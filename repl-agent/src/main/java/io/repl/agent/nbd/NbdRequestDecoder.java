package io.repl.agent.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.repl.io.AlignedBuffers;
import java.util.List;

/**
 * Splits the transmission byte stream into requests. A bad magic or a write payload larger
 * than advertised means the stream can no longer be trusted to be in sync, so the
 * connection is closed; every other problem is the session's to answer with an error reply.
 *
 * <p>A write's payload is copied into an aligned buffer as it arrives, so the decoder never
 * accumulates more than one socket read of data in its own buffer.
 */
final class NbdRequestDecoder extends ByteToMessageDecoder {
    private static final System.Logger LOG = System.getLogger(NbdRequestDecoder.class.getName());

    private enum State { HEADER, PAYLOAD, BROKEN }

    private final AlignedBuffers buffers;
    private final String peer;
    private State state = State.HEADER;
    private NbdRequest pending;

    NbdRequestDecoder(AlignedBuffers buffers, String peer) {
        this.buffers = buffers;
        this.peer = peer;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (true) {
            if (state == State.BROKEN) {
                in.skipBytes(in.readableBytes());
                return;
            }
            if (state == State.HEADER) {
                if (in.readableBytes() < Nbd.REQUEST_HEADER_BYTES) {
                    return;
                }
                int magic = in.readInt();
                int flags = in.readUnsignedShort();
                int type = in.readUnsignedShort();
                long cookie = in.readLong();
                long offset = in.readLong();
                long length = in.readUnsignedInt();
                if (magic != Nbd.REQUEST_MAGIC) {
                    broken(ctx, String.format("bad request magic 0x%08x (expected 0x%08x)", magic, Nbd.REQUEST_MAGIC));
                    return;
                }
                NbdRequest r = new NbdRequest(flags, type, cookie, offset, length);
                if (type != Nbd.CMD_WRITE || length == 0) {
                    out.add(r);
                    continue;
                }
                if (length > Nbd.MAX_PAYLOAD_BYTES) {
                    broken(ctx, "WRITE payload of " + length + " bytes exceeds the advertised maximum of "
                            + Nbd.MAX_PAYLOAD_BYTES);
                    return;
                }
                r.payload = buffers.acquire((int) length);
                pending = r;
                state = State.PAYLOAD;
            }
            int n = Math.min(in.readableBytes(), pending.payload.remaining());
            if (n > 0) {
                int limit = pending.payload.limit();
                pending.payload.limit(pending.payload.position() + n);
                in.readBytes(pending.payload);
                pending.payload.limit(limit);
            }
            if (pending.payload.hasRemaining()) {
                return;
            }
            pending.payload.flip();
            out.add(pending);
            pending = null;
            state = State.HEADER;
        }
    }

    private void broken(ChannelHandlerContext ctx, String why) {
        LOG.log(System.Logger.Level.WARNING, "nbd " + peer + ": closing connection: " + why);
        state = State.BROKEN;
        ctx.close();
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        dropPending();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        dropPending();
        super.channelInactive(ctx);
    }

    /** A half-received write dies with its connection; its buffer goes back to the pool. */
    private void dropPending() {
        state = State.BROKEN;
        if (pending != null) {
            buffers.release(pending.payload);
            pending = null;
        }
    }
}
