package io.repl.agent.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The server side of fixed newstyle negotiation, as a state machine over bytes. It answers
 * options until the client picks the export (GO or EXPORT_NAME), then swaps itself for the
 * transmission handlers. Options it does not know get ERR_UNSUP and negotiation goes on.
 */
final class NbdHandshake extends ByteToMessageDecoder {
    private static final System.Logger LOG = System.getLogger(NbdHandshake.class.getName());

    private enum State { CLIENT_FLAGS, OPTION_HEADER, OPTION_DATA, DONE }

    private final Export export;
    private final ExportLoad load;
    private final String peer;
    private State state = State.CLIENT_FLAGS;
    private boolean noZeroes;
    private int option;
    private int optionLength;

    /** A client alone with its own in-flight bounds (tests). */
    NbdHandshake(Export export, String peer) {
        this(export, new ExportLoad(), peer);
    }

    /** A client of an export whose sessions share {@code load}. */
    NbdHandshake(Export export, ExportLoad load, String peer) {
        this.export = export;
        this.load = load;
        this.peer = peer;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        ByteBuf hello = ctx.alloc().buffer(18);
        hello.writeLong(Nbd.NBDMAGIC).writeLong(Nbd.IHAVEOPT)
                .writeShort(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
        ctx.writeAndFlush(hello);
        super.channelActive(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (state != State.DONE && ctx.channel().isActive()) {
            if (state == State.CLIENT_FLAGS) {
                if (in.readableBytes() < 4) {
                    return;
                }
                int flags = in.readInt();
                if ((flags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0) {
                    hangUp(ctx, String.format("unknown client flags 0x%x (known: fixed-newstyle 0x1, no-zeroes 0x2)",
                            flags));
                    return;
                }
                noZeroes = (flags & Nbd.FLAG_C_NO_ZEROES) != 0;
                state = State.OPTION_HEADER;
            } else if (state == State.OPTION_HEADER) {
                if (in.readableBytes() < 16) {
                    return;
                }
                long magic = in.readLong();
                option = in.readInt();
                optionLength = in.readInt();
                if (magic != Nbd.IHAVEOPT) {
                    hangUp(ctx, String.format("bad option magic 0x%016x (expected IHAVEOPT)", magic));
                    return;
                }
                if (optionLength < 0 || optionLength > Nbd.MAX_OPTION_BYTES) {
                    hangUp(ctx, "option " + option + " carries " + Integer.toUnsignedString(optionLength)
                            + " bytes of data; at most " + Nbd.MAX_OPTION_BYTES + " are accepted");
                    return;
                }
                state = State.OPTION_DATA;
            } else {
                if (in.readableBytes() < optionLength) {
                    return;
                }
                ByteBuf data = in.readSlice(optionLength);
                state = State.OPTION_HEADER;
                handleOption(ctx, data);
            }
        }
    }

    private void handleOption(ChannelHandlerContext ctx, ByteBuf data) {
        switch (option) {
            case Nbd.OPT_EXPORT_NAME:
                exportName(ctx, data);
                break;
            case Nbd.OPT_ABORT:
                reply(ctx, Nbd.REP_ACK, null).addListener(ChannelFutureListener.CLOSE);
                state = State.DONE;
                break;
            case Nbd.OPT_LIST:
                if (data.isReadable()) {
                    error(ctx, Nbd.REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
                    break;
                }
                ByteBuf entry = ctx.alloc().buffer();
                byte[] name = export.name().getBytes(StandardCharsets.UTF_8);
                entry.writeInt(name.length).writeBytes(name);
                reply(ctx, Nbd.REP_SERVER, entry);
                reply(ctx, Nbd.REP_ACK, null);
                break;
            case Nbd.OPT_STARTTLS:
                error(ctx, Nbd.REP_ERR_POLICY, "TLS is not offered; serve over the unix socket or a trusted network");
                break;
            case Nbd.OPT_INFO:
            case Nbd.OPT_GO:
                infoOrGo(ctx, data, option == Nbd.OPT_GO);
                break;
            default:
                error(ctx, Nbd.REP_ERR_UNSUP, "option " + option + " is not supported");
        }
    }

    private void exportName(ChannelHandlerContext ctx, ByteBuf data) {
        String name = data.toString(StandardCharsets.UTF_8);
        if (!matches(name)) {
            hangUp(ctx, "NBD_OPT_EXPORT_NAME for unknown export \"" + name + "\" (this socket serves \""
                    + export.name() + "\")");
            return;
        }
        Export.Grant g = export.open();
        if (!g.granted()) {
            hangUp(ctx, "export \"" + export.name() + "\" refused: " + g.refusal());
            return;
        }
        ByteBuf b = ctx.alloc().buffer(134);
        b.writeLong(g.volume().size()).writeShort(transmissionFlags(g));
        if (!noZeroes) {
            b.writeZero(124);
        }
        ctx.writeAndFlush(b);
        enterTransmission(ctx, g);
    }

    private void infoOrGo(ChannelHandlerContext ctx, ByteBuf data, boolean go) {
        if (data.readableBytes() < 6) {
            error(ctx, Nbd.REP_ERR_INVALID, "option data too short for an export name and info requests");
            return;
        }
        long nameLength = data.readUnsignedInt();
        if (nameLength > data.readableBytes() - 2) {
            error(ctx, Nbd.REP_ERR_INVALID, "export name length " + nameLength + " runs past the option data");
            return;
        }
        String name = data.readCharSequence((int) nameLength, StandardCharsets.UTF_8).toString();
        int requests = data.readUnsignedShort();
        if (data.readableBytes() != requests * 2) {
            error(ctx, Nbd.REP_ERR_INVALID, requests + " info requests need " + (requests * 2)
                    + " bytes, the option has " + data.readableBytes());
            return;
        }
        boolean wantName = false;
        boolean wantDescription = false;
        for (int i = 0; i < requests; i++) {
            int info = data.readUnsignedShort();
            wantName |= info == Nbd.INFO_NAME;
            wantDescription |= info == Nbd.INFO_DESCRIPTION;
        }
        if (!matches(name)) {
            error(ctx, Nbd.REP_ERR_UNKNOWN, "no export \"" + name + "\" here; this socket serves \""
                    + export.name() + "\"");
            return;
        }
        Export.Grant g = export.open();
        if (!g.granted()) {
            error(ctx, Nbd.REP_ERR_POLICY, "export \"" + export.name() + "\" refused: " + g.refusal());
            return;
        }
        ByteBuf info = ctx.alloc().buffer(12);
        info.writeShort(Nbd.INFO_EXPORT).writeLong(g.volume().size()).writeShort(transmissionFlags(g));
        reply(ctx, Nbd.REP_INFO, info);
        ByteBuf sizes = ctx.alloc().buffer(14);
        sizes.writeShort(Nbd.INFO_BLOCK_SIZE).writeInt(g.volume().blockSize())
                .writeInt(g.volume().preferredBlockSize()).writeInt(Nbd.MAX_PAYLOAD_BYTES);
        reply(ctx, Nbd.REP_INFO, sizes);
        if (wantName) {
            ByteBuf n = ctx.alloc().buffer();
            n.writeShort(Nbd.INFO_NAME).writeCharSequence(export.name(), StandardCharsets.UTF_8);
            reply(ctx, Nbd.REP_INFO, n);
        }
        if (wantDescription) {
            ByteBuf d = ctx.alloc().buffer();
            d.writeShort(Nbd.INFO_DESCRIPTION).writeCharSequence("repl resource " + export.name()
                    + (g.readOnly() ? " (read-only)" : ""), StandardCharsets.UTF_8);
            reply(ctx, Nbd.REP_INFO, d);
        }
        reply(ctx, Nbd.REP_ACK, null);
        if (go) {
            enterTransmission(ctx, g);
        }
    }

    private boolean matches(String name) {
        return name.isEmpty() || name.equals(export.name());
    }

    static int transmissionFlags(Export.Grant g) {
        int f = Nbd.TFLAG_HAS_FLAGS | Nbd.TFLAG_SEND_FLUSH | Nbd.TFLAG_SEND_FUA | Nbd.TFLAG_CAN_MULTI_CONN;
        if (g.readOnly()) {
            f |= Nbd.TFLAG_READ_ONLY;
        } else {
            f |= Nbd.TFLAG_SEND_TRIM | Nbd.TFLAG_SEND_WRITE_ZEROES | Nbd.TFLAG_SEND_FAST_ZERO;
        }
        return f;
    }

    private void enterTransmission(ChannelHandlerContext ctx, Export.Grant g) {
        state = State.DONE;
        NbdSession session = new NbdSession(export, load, g, peer);
        ctx.pipeline().addAfter(ctx.name(), "nbd-session", session);
        ctx.pipeline().addAfter(ctx.name(), "nbd-requests", new NbdRequestDecoder(g.volume().buffers(), peer));
        // Bytes the client pipelined after its option stay in this decoder's buffer and are
        // handed to the request decoder when this handler is removed.
        ctx.pipeline().remove(this);
    }

    private io.netty.channel.ChannelFuture reply(ChannelHandlerContext ctx, int type, ByteBuf data) {
        ByteBuf h = ctx.alloc().buffer(20);
        h.writeLong(Nbd.OPTION_REPLY_MAGIC).writeInt(option).writeInt(type)
                .writeInt(data == null ? 0 : data.readableBytes());
        if (data == null) {
            return ctx.writeAndFlush(h);
        }
        ctx.write(h);
        return ctx.writeAndFlush(data);
    }

    private void error(ChannelHandlerContext ctx, int type, String message) {
        LOG.log(System.Logger.Level.INFO, "nbd " + export.name() + " " + peer + ": option " + option + ": " + message);
        ByteBuf m = ctx.alloc().buffer();
        m.writeCharSequence(message, StandardCharsets.UTF_8);
        reply(ctx, type, m);
    }

    private void hangUp(ChannelHandlerContext ctx, String why) {
        LOG.log(System.Logger.Level.WARNING, "nbd " + export.name() + " " + peer + ": closing during handshake: " + why);
        state = State.DONE;
        ctx.close();
    }
}
