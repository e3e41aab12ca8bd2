package io.repl.core.replication;

import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Ping;
import io.repl.protocol.PingAck;

/**
 * Liveness of the peer connection: a PING after an idle interval, the connection closed when it
 * goes unanswered, or when a write, barrier or the handshake waits longer than the request
 * timeout. Reconnecting is the driver's job once the core reports Connecting.
 */
final class Heartbeat {
    private final CoreContext ctx;
    private long lastPingNanos;
    private long outstandingToken = -1;
    private long nextToken = 1;

    Heartbeat(CoreContext ctx) {
        this.ctx = ctx;
    }

    void reset() {
        outstandingToken = -1;
    }

    void onConnected() {
        outstandingToken = -1;
        lastPingNanos = ctx.nowNanos;
    }

    void onTick() {
        if (!ctx.state.connected()) {
            return;
        }
        long now = ctx.nowNanos;
        if (outstandingToken >= 0 && now - lastPingNanos > ctx.config.pingTimeoutNanos()) {
            ctx.close(DisconnectReason.PROTOCOL_ERROR, "ping timeout: no PING_ACK within "
                    + ctx.config.pingTimeoutNanos() / 1_000_000 + " ms", false);
            return;
        }
        if (outstandingToken < 0 && now - lastPingNanos >= ctx.config.pingIntervalNanos()) {
            outstandingToken = nextToken++;
            lastPingNanos = now;
            ctx.send(new Ping(outstandingToken));
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
        if (ack.token() == outstandingToken) {
            outstandingToken = -1;
        }
    }
}
