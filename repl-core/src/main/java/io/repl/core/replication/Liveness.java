package io.repl.core.replication;

/**
 * Decides when to PING the peer and when to give up on it. Pure logic: time and the count of
 * received bytes are passed in, so a test can walk it through hours in microseconds.
 *
 * <p>Any received byte proves the peer alive, not only PING_ACK: a peer busy sending a 32 MiB
 * DATA frame over a slow line is alive even if its PING_ACK waits behind that frame. After
 * {@code intervalNs} without a byte we send PING; if no byte arrives within {@code timeoutNs}
 * after that, the peer is dead. Deadlines compare by subtraction so they survive
 * {@link System#nanoTime()} wrapping.
 *
 * <p>One rule for every connection: the agent's peer and witness links run it on their sessions,
 * the core's {@link Heartbeat} on its connection, which is how the simulator exercises it.
 */
public final class Liveness {
    /** What the driver must do after {@link #poll}. */
    public enum Action { NONE, PING, DEAD }

    private final long intervalNs;
    private final long timeoutNs;
    private long heardNs;
    private long bytesSeen;
    private boolean pingOutstanding;
    private long pingSentNs;
    private long token;
    private long rttNs = -1;

    public Liveness(long intervalNs, long timeoutNs, long nowNs, long bytesIn) {
        if (intervalNs <= 0 || timeoutNs <= 0) {
            throw new IllegalArgumentException("interval and timeout must be positive: " + intervalNs + ", "
                    + timeoutNs);
        }
        this.intervalNs = intervalNs;
        this.timeoutNs = timeoutNs;
        this.heardNs = nowNs;
        this.bytesSeen = bytesIn;
    }

    /** Looks at the clock and the received byte count and says what to do now. */
    public Action poll(long nowNs, long bytesIn) {
        if (bytesIn != bytesSeen) {
            bytesSeen = bytesIn;
            heardNs = nowNs;
            pingOutstanding = false;
        }
        if (pingOutstanding) {
            return nowNs - pingSentNs - timeoutNs >= 0 ? Action.DEAD : Action.NONE;
        }
        if (nowNs - heardNs - intervalNs >= 0) {
            pingSent(nowNs);
            return Action.PING;
        }
        return Action.NONE;
    }

    /** Counts the peer as heard now, for example while we ourselves are not reading. */
    public void heard(long nowNs) {
        heardNs = nowNs;
        pingOutstanding = false;
    }

    /** Records a PING sent outside {@link #poll} (the decider pings as soon as it chooses). */
    public long pingNow(long nowNs) {
        pingSent(nowNs);
        return token;
    }

    private void pingSent(long nowNs) {
        pingOutstanding = true;
        pingSentNs = nowNs;
        token++;
    }

    /** The token of the latest PING. */
    public long token() {
        return token;
    }

    /** Measures the round trip when {@code ackToken} answers the latest PING. */
    public void pingAcked(long ackToken, long nowNs) {
        if (ackToken == token) {
            rttNs = nowNs - pingSentNs;
        }
    }

    /** The latest measured round trip, or -1 before the first. */
    public long rttNs() {
        return rttNs;
    }

    /** When {@link #poll} next has something to decide. */
    public long nextDeadlineNs() {
        return pingOutstanding ? pingSentNs + timeoutNs : heardNs + intervalNs;
    }

    /** The silence that made the peer dead, for the log. */
    public long timeoutNs() {
        return timeoutNs;
    }
}
