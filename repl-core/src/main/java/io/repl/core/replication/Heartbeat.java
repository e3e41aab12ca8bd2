package io.repl.core.replication;

import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Ping;
import io.repl.protocol.PingAck;

/**
 * Liveness of the peer connection, by the same rule the agent's peer link uses
 * ({@link Liveness}): any message from the peer proves it alive; after an idle interval a PING
 * goes out, and the connection is closed when nothing arrives within the timeout after it. The
 * connection is also closed when a write, barrier or the handshake waits longer than the
 * request timeout. Reconnecting is the driver's job once the core reports Connecting.
 *
 * <p>In the agent the peer link pings (its sessions see every byte, and a PING_ACK waiting
 * behind a large frame still finds the bytes before it), so the agent sets the core's interval
 * out of reach; the simulator, which has no link of its own, runs this one.
 */
final class Heartbeat {
    private final CoreContext ctx;
    /** The current connection's liveness, or null without one. */
    private Liveness liveness;

    Heartbeat(CoreContext ctx) {
        this.ctx = ctx;
    }

    void reset() {
        liveness = null;
    }

    void onConnected() {
        liveness = new Liveness(ctx.config.pingIntervalNanos(), ctx.config.pingTimeoutNanos(), ctx.nowNanos, 0);
    }

    /** A message arrived on the current connection. */
    void onMessage() {
        if (liveness != null) {
            liveness.heard(ctx.nowNanos);
        }
    }

    void onTick() {
        if (!ctx.state.connected() || liveness == null) {
            return;
        }
        long now = ctx.nowNanos;
        Liveness.Action action = liveness.poll(now, 0);
        if (action == Liveness.Action.DEAD) {
            ctx.close(DisconnectReason.PROTOCOL_ERROR, "ping timeout: nothing from the peer within "
                    + liveness.timeoutNs() / 1_000_000 + " ms of a PING", false);
            return;
        }
        if (action == Liveness.Action.PING) {
            ctx.send(new Ping(liveness.token()));
        }
        long oldest = ctx.writePath.oldestUnansweredNanos();
        if (oldest >= 0 && now - oldest > ctx.config.requestTimeoutNanos()) {
            ctx.close(DisconnectReason.PROTOCOL_ERROR, "the peer has not answered a write or barrier for "
                    + (now - oldest) / 1_000_000 + " ms", false);
            return;
        }
        if (ctx.handshake.active() && now - ctx.handshake.startedNanos() > ctx.config.requestTimeoutNanos()) {
            ctx.close(DisconnectReason.PROTOCOL_ERROR, "the handshake did not complete in time", false);
        }
    }

    void onPing(Ping ping) {
        ctx.send(new PingAck(ping.token()));
    }

    void onPingAck(PingAck ack) {
        if (liveness != null) {
            liveness.pingAcked(ack.token(), ctx.nowNanos);
        }
    }
}
