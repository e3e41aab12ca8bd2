package io.repl.agent.peer;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.repl.agent.config.HostPort;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.handshake.HandshakeResult;
import java.net.InetSocketAddress;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One TCP connection of a link, from connect or accept until close, whether or not it ever
 * becomes the session. Confined to the link's event loop.
 */
final class PeerConnection {
    /** How far a connection got. */
    enum Phase {
        /** HELLO and AUTH_RESPONSE are being exchanged. */
        HANDSHAKING,
        /** The peer proved the secret; the deciding node has not used this connection yet. */
        CANDIDATE,
        /** This connection carries the session. */
        SESSION,
        /** Closed, or about to be: nothing more it receives is delivered. */
        CLOSING
    }

    final long id;
    final boolean outbound;
    /** Where an outbound connection goes, for logs before the socket knows it. */
    final String target;
    final TrafficCounters counters;
    final PeerFrameDecoder decoder;
    final PeerFrameEncoder encoder;
    Channel channel;
    Phase phase = Phase.HANDSHAKING;
    HandshakeResult result;
    PeerSession session;
    /** Closes the connection if it is not the session within the configured timeout. */
    ScheduledFuture<?> establishTimer;
    /** The socket was up, so a close before authentication is a refusal worth counting. */
    boolean active;
    boolean closeHandled;
    private String closeReason;

    PeerConnection(long id, boolean outbound, String target, TrafficCounters linkTotals, PayloadBuffers payloads) {
        this.id = id;
        this.outbound = outbound;
        this.target = target;
        this.counters = new TrafficCounters(linkTotals);
        this.decoder = new PeerFrameDecoder(counters, payloads);
        this.encoder = new PeerFrameEncoder(counters);
    }

    /** Why the connection closed: the first reason recorded, or null if nobody said. */
    String closeReason() {
        return closeReason;
    }

    /** Records why the connection ends, unless an earlier reason is already recorded. */
    void reason(String reason) {
        if (closeReason == null) {
            closeReason = reason;
        }
    }

    /** Closes at once without telling the peer why; right for strangers and dead links. */
    void close(String reason) {
        reason(reason);
        phase = Phase.CLOSING;
        cancelEstablishTimer();
        if (channel != null) {
            channel.close();
        }
    }

    /**
     * Tells the peer why with DISCONNECT, then closes. The DISCONNECT waits behind whatever is
     * queued, so a peer that stopped reading gets {@code graceMs} before we close anyway.
     */
    void close(DisconnectReason wireReason, String reason, long graceMs) {
        reason(reason);
        phase = Phase.CLOSING;
        cancelEstablishTimer();
        if (channel == null) {
            return;
        }
        if (!channel.isActive()) {
            channel.close();
            return;
        }
        channel.writeAndFlush(Disconnect.fitting(wireReason, reason)).addListener(ChannelFutureListener.CLOSE);
        Channel ch = channel;
        channel.eventLoop().schedule(() -> ch.close(), graceMs, TimeUnit.MILLISECONDS);
    }

    void cancelEstablishTimer() {
        if (establishTimer != null) {
            establishTimer.cancel(false);
            establishTimer = null;
        }
    }

    /** For logs: {@code #3 outbound to 10.0.0.2:7789} or {@code #4 inbound from 10.0.0.2:51234}. */
    String describe() {
        String where = target;
        if (channel != null && channel.remoteAddress() instanceof InetSocketAddress a) {
            where = new HostPort(a.getHostString(), a.getPort()).toString();
        }
        return "#" + id + (outbound ? " outbound to " : " inbound from ") + where;
    }
}
