package io.repl.agent.peer;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.repl.protocol.Message;
import io.repl.protocol.handshake.Handshake;
import io.repl.protocol.handshake.HandshakeStep;

/**
 * Drives the sans-I/O {@link Handshake} on the event loop: sends HELLO when the connection is
 * up, feeds every received message to it, sends what it asks for, and on the outcome either
 * switches both codecs to the negotiated settings and gives way to a {@link SessionHandler},
 * or closes the connection. No message of an unauthenticated peer ever reaches past this
 * handler.
 *
 * <p>The time limit is the link's (see {@link PeerLink}): it covers the handshake and the
 * choice of connection together.
 */
final class HandshakeHandler extends ChannelInboundHandlerAdapter {
    private final PeerLink link;
    private final PeerConnection connection;
    private final Handshake handshake;

    HandshakeHandler(PeerLink link, PeerConnection connection, Handshake handshake) {
        this.link = link;
        this.connection = connection;
        this.handshake = handshake;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        link.connectionActive(connection);
        ctx.writeAndFlush(handshake.start());
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (connection.phase != PeerConnection.Phase.HANDSHAKING) {
            // Closing already; the decoder may still hand over what was in the same read.
            return;
        }
        HandshakeStep step = handshake.receive((Message) msg);
        for (Message m : step.toSend()) {
            ctx.write(m);
        }
        ctx.flush();
        if (step.failed()) {
            link.handshakeFailed(connection, step.failure());
        } else if (step.succeeded()) {
            // The codecs switch before the next frame is decoded: the decoder hands over one
            // message at a time, and this runs while it waits.
            connection.decoder.update(step.result().wireSettings());
            connection.encoder.update(step.result().wireSettings());
            ctx.pipeline().replace(this, "session", new SessionHandler(link, connection));
            link.authenticated(connection, step.result());
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        link.connectionFailed(connection, cause);
    }
}
