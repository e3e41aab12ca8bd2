package io.repl.agent.witness;

import io.repl.agent.peer.TrafficCounters;

import io.repl.agent.peer.PeerFrameEncoder;

import io.repl.agent.peer.PeerFrameDecoder;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.repl.agent.config.HostPort;
import io.repl.protocol.Message;
import io.repl.protocol.handshake.Handshake;
import io.repl.protocol.handshake.HandshakeConfig;
import io.repl.protocol.handshake.HandshakeStep;
import io.repl.protocol.handshake.NonceHistory;
import java.net.InetSocketAddress;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;

/**
 * One connection a node opened to the witness, from accept to close; also the last handler of
 * its pipeline. Until the node proves the shared secret only the handshake sees its messages;
 * after that the {@link WitnessServer} does. Confined to the server's event loop.
 */
final class NodeConnection extends ChannelInboundHandlerAdapter {
    final long id;
    final Channel channel;
    final WitnessServer.Listening listening;
    final TrafficCounters counters = new TrafficCounters(null);
    final PeerFrameDecoder decoder = new PeerFrameDecoder(counters);
    final PeerFrameEncoder encoder = new PeerFrameEncoder(counters);
    private final WitnessServer server;
    private final Handshake handshake;
    /** The resource the node named in its HELLO, once the listener serves it. */
    WitnessConfigs.Served resource;
    String node;
    int nodeId = -1;
    boolean authenticated;
    /** Nothing more this connection receives counts; set when we decide to close it. */
    boolean ending;
    private String reason;
    private ScheduledFuture<?> handshakeTimer;

    NodeConnection(WitnessServer server, WitnessServer.Listening listening, Channel channel, long id,
                   RandomGenerator random, NonceHistory nonces) {
        this.server = server;
        this.listening = listening;
        this.channel = channel;
        this.id = id;
        this.handshake = Handshake.responder(this::resolve, random, nonces);
    }

    /** What the handshake expects of a node that named {@code node} and {@code resourceName}. */
    private HandshakeConfig resolve(String resourceName, String peerNode) {
        WitnessConfigs.Served r = listening.resources().get(resourceName);
        if (r == null || r.nodeId(peerNode) < 0) {
            return null;
        }
        resource = r;
        node = peerNode;
        nodeId = r.nodeId(peerNode);
        return HandshakeConfig.of(WitnessLinkConfig.WITNESS_NODE, peerNode, resourceName, r.secret());
    }

    /** Builds the pipeline; the frames are the peer link's, with the same limits. */
    void attach() {
        channel.pipeline().addLast("decoder", decoder).addLast("encoder", encoder).addLast("witness", this);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        long timeoutMs = listening.handshakeTimeoutMs();
        handshakeTimer = ctx.executor().schedule(() -> {
            handshakeTimer = null;
            if (!authenticated && !ending) {
                server.reject(this, "handshake timeout", "handshake not finished within " + timeoutMs + " ms");
            }
        }, timeoutMs, TimeUnit.MILLISECONDS);
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (ending) {
            // Closing already; the decoder may still hand over what was in the same read.
            return;
        }
        Message m = (Message) msg;
        if (authenticated) {
            server.sessionMessage(this, m);
            return;
        }
        HandshakeStep step = handshake.receive(m);
        for (Message out : step.toSend()) {
            ctx.write(out);
        }
        ctx.flush();
        if (step.failed()) {
            server.reject(this, step.failure().reason().name(), step.failure().reason() + ": "
                    + step.failure().detail());
        } else if (step.succeeded()) {
            // The codecs switch before the next frame is decoded: the decoder hands over one
            // message at a time, and this runs while it waits.
            decoder.update(step.result().wireSettings());
            encoder.update(step.result().wireSettings());
            cancelHandshakeTimer();
            authenticated = true;
            // Placed first, so it sees every byte, not only whole frames: a node sending a
            // large frame slowly is not silent.
            long silenceMs = resource.silenceMax().toMillis();
            ctx.pipeline().addFirst("silence", new IdleStateHandler(silenceMs, 0, 0, TimeUnit.MILLISECONDS));
            server.authenticated(this);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent && authenticated && !ending) {
            server.silent(this);
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        server.failed(this, cause);
    }

    /** Records why the connection ends, unless an earlier reason is recorded. */
    void reason(String why) {
        if (reason == null) {
            reason = why;
        }
    }

    /** Why the connection ended: the first reason recorded, or null if nobody said. */
    String reason() {
        return reason;
    }

    void cancelHandshakeTimer() {
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
            handshakeTimer = null;
        }
    }

    /** For logs: {@code alpha (#3 from 10.0.0.1:51234)}, or {@code #3 from 10.0.0.1:51234} before the HELLO. */
    String describe() {
        String from = "#" + id + " from " + remote();
        return node == null ? from : node + " (" + from + ")";
    }

    private String remote() {
        if (channel.remoteAddress() instanceof InetSocketAddress a) {
            return new HostPort(a.getHostString(), a.getPort()).toString();
        }
        return String.valueOf(channel.remoteAddress());
    }
}
