package io.repl.agent.witness;

import io.repl.agent.peer.TrafficCounters;

import io.repl.agent.peer.PeerFrameEncoder;

import io.repl.agent.peer.PeerFrameDecoder;

import io.repl.core.replication.Liveness;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.repl.protocol.Message;
import io.repl.protocol.Ping;
import io.repl.protocol.PingAck;
import io.repl.protocol.handshake.Handshake;
import io.repl.protocol.handshake.HandshakeStep;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One TCP connection of a {@link WitnessLink} to the witness, from dial to close; also the
 * last handler of its pipeline. It runs the handshake, answers PING and keeps the link's
 * liveness timer; everything else it hands to the link. Confined to the link's event loop.
 */
final class WitnessConnection extends ChannelInboundHandlerAdapter {
    final long id;
    final TrafficCounters counters = new TrafficCounters(null);
    final PeerFrameDecoder decoder = new PeerFrameDecoder(counters);
    final PeerFrameEncoder encoder = new PeerFrameEncoder(counters);
    private final WitnessLink link;
    private final Handshake handshake;
    private final long timeoutMs;
    Channel channel;
    /** The socket was up, so a close before authentication is worth a line. */
    boolean active;
    boolean authenticated;
    /** Nothing more this connection receives counts; set when the link decides to close it. */
    boolean ended;
    boolean closeHandled;
    private Liveness liveness;
    /** The handshake's deadline, then the liveness timer. */
    private ScheduledFuture<?> timer;

    WitnessConnection(WitnessLink link, long id, Handshake handshake, long timeoutMs) {
        this.link = link;
        this.id = id;
        this.handshake = handshake;
        this.timeoutMs = timeoutMs;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        active = true;
        if (ended) {
            ctx.close();
            return;
        }
        timer = ctx.executor().schedule(() -> {
            timer = null;
            if (!authenticated && !ended) {
                link.handshakeTimedOut(this);
            }
        }, timeoutMs, TimeUnit.MILLISECONDS);
        ctx.writeAndFlush(handshake.start());
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (ended) {
            // Closing already; the decoder may still hand over what was in the same read.
            return;
        }
        Message m = (Message) msg;
        if (!authenticated) {
            handshake(ctx, handshake.receive(m));
        } else if (m instanceof Ping ping) {
            ctx.writeAndFlush(new PingAck(ping.token()), ctx.voidPromise());
        } else if (m instanceof PingAck ack) {
            pingAcked(ack.token());
        } else {
            link.deliver(this, m);
        }
    }

    private void handshake(ChannelHandlerContext ctx, HandshakeStep step) {
        for (Message m : step.toSend()) {
            ctx.write(m);
        }
        ctx.flush();
        if (step.failed()) {
            link.refused(this, step.failure());
        } else if (step.succeeded()) {
            // The codecs switch before the next frame is decoded: the decoder hands over one
            // message at a time, and this runs while it waits.
            decoder.update(step.result().wireSettings());
            encoder.update(step.result().wireSettings());
            cancelTimer();
            authenticated = true;
            link.authenticated(this, step.result());
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        link.failed(this, cause);
    }

    /** Starts PING and the dead-witness check; the session is up. */
    void startLiveness(long intervalNs, long pingTimeoutNs) {
        long now = System.nanoTime();
        liveness = new Liveness(intervalNs, pingTimeoutNs, now, counters.bytesIn());
        pingIntervalNs = intervalNs;
        lastPingNs = now;
        arm(now);
    }

    private void arm(long now) {
        long next = Math.min(liveness.nextDeadlineNs(), lastPingNs + pingIntervalNs);
        long delayNs = Math.max(TimeUnit.MILLISECONDS.toNanos(1), next - now);
        timer = channel.eventLoop().schedule(this::tick, delayNs, TimeUnit.NANOSECONDS);
    }

    private void tick() {
        timer = null;
        if (ended) {
            return;
        }
        long now = System.nanoTime();
        switch (liveness.poll(now, counters.bytesIn())) {
            case PING -> ping(liveness.token(), now);
            case DEAD -> {
                link.dead(this, "the witness is not answering: nothing received for "
                        + TimeUnit.NANOSECONDS.toMillis(liveness.timeoutNs()) + " ms after PING");
                return;
            }
            default -> {
                // The witness drops a node it has not heard from for interval + timeout, and
                // hearing the witness (a verdict) says nothing about whether it hears us: ping
                // every interval whatever arrived.
                if (now - lastPingNs - pingIntervalNs >= 0) {
                    ping(liveness.pingNow(now), now);
                }
            }
        }
        arm(now);
    }

    private void ping(long token, long now) {
        lastPingNs = now;
        channel.writeAndFlush(new Ping(token), channel.voidPromise());
    }

    private long pingIntervalNs;
    private long lastPingNs;

    private void pingAcked(long token) {
        long now = System.nanoTime();
        liveness.pingAcked(token, now);
        // The timer waits for the PING's deadline; the answer moves the next PING to one
        // interval from now, so an idle session pings every interval, and the witness, which
        // drops a node silent for interval + timeout, always hears one in time.
        if (timer != null && liveness.poll(now, counters.bytesIn()) == Liveness.Action.NONE) {
            timer.cancel(false);
            arm(now);
        }
    }

    void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
