package io.repl.agent.peer;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.repl.protocol.Disconnect;
import io.repl.protocol.Message;
import io.repl.protocol.Ping;
import io.repl.protocol.PingAck;

/**
 * Handles the messages of an authenticated connection: answers PING, measures PING_ACK, and
 * hands everything else to the link, which delivers it to the listener only while this
 * connection is the session.
 */
final class SessionHandler extends ChannelInboundHandlerAdapter {
    private final PeerLink link;
    private final PeerConnection connection;

    SessionHandler(PeerLink link, PeerConnection connection) {
        this.link = link;
        this.connection = connection;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Message message = (Message) msg;
        if (connection.phase == PeerConnection.Phase.CANDIDATE && !(message instanceof Disconnect)) {
            // The deciding node sends on a connection only once it chose it, so its first
            // message is the choice.
            link.chosenByPeer(connection);
        }
        if (connection.phase != PeerConnection.Phase.SESSION) {
            if (message instanceof Disconnect d) {
                link.peerDisconnected(connection, d);
            }
            return;
        }
        PeerSession session = connection.session;
        if (message instanceof Ping ping) {
            ctx.writeAndFlush(new PingAck(ping.token()), ctx.voidPromise());
        } else if (message instanceof PingAck ack) {
            session.pingAcked(ack.token());
        } else {
            link.deliver(connection, message);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        link.writabilityChanged(connection);
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        link.connectionFailed(connection, cause);
    }
}
