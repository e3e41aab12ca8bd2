package io.repl.core.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The PING schedule with time passed in: no threads, no sleeps. */
class LivenessTest {
    private static final long MS = 1_000_000L;

    @Test
    void pingsAfterAnIdleIntervalAndDiesAfterTheTimeout() {
        Liveness l = new Liveness(100 * MS, 300 * MS, 0, 0);
        assertEquals(Liveness.Action.NONE, l.poll(99 * MS, 0));
        assertEquals(100 * MS, l.nextDeadlineNs());
        assertEquals(Liveness.Action.PING, l.poll(100 * MS, 0));
        assertEquals(400 * MS, l.nextDeadlineNs());
        assertEquals(Liveness.Action.NONE, l.poll(399 * MS, 0));
        assertEquals(Liveness.Action.DEAD, l.poll(400 * MS, 0));
    }

    @Test
    void anyTrafficCountsAsAnAnswer() {
        Liveness l = new Liveness(100 * MS, 300 * MS, 0, 0);
        assertEquals(Liveness.Action.PING, l.poll(100 * MS, 0));
        // A big DATA frame is still arriving; its bytes prove the peer alive.
        assertEquals(Liveness.Action.NONE, l.poll(400 * MS, 1 << 20));
        assertEquals(500 * MS, l.nextDeadlineNs());
        assertEquals(Liveness.Action.PING, l.poll(500 * MS, 1 << 20));
    }

    @Test
    void busyLinksAreNeverPinged() {
        Liveness l = new Liveness(100 * MS, 300 * MS, 0, 0);
        for (int i = 1; i <= 100; i++) {
            assertEquals(Liveness.Action.NONE, l.poll(i * 99 * MS, i));
        }
    }

    @Test
    void measuresTheRoundTripOfTheLatestPingOnly() {
        Liveness l = new Liveness(100 * MS, 300 * MS, 0, 0);
        long first = l.pingNow(0);
        assertEquals(Liveness.Action.NONE, l.poll(10 * MS, 1));
        assertEquals(Liveness.Action.PING, l.poll(110 * MS, 1));
        l.pingAcked(first, 120 * MS);
        assertEquals(-1, l.rttNs(), "a stale token says nothing about the current round trip");
        l.pingAcked(l.token(), 115 * MS);
        assertEquals(5 * MS, l.rttNs());
    }

    @Test
    void deadlinesSurviveTheClockWrapping() {
        long start = Long.MAX_VALUE - 50 * MS;
        Liveness l = new Liveness(100 * MS, 300 * MS, start, 0);
        assertEquals(Liveness.Action.NONE, l.poll(start + 99 * MS, 0));
        assertEquals(Liveness.Action.PING, l.poll(start + 100 * MS, 0));
        assertEquals(Liveness.Action.DEAD, l.poll(start + 400 * MS, 0));
    }

    @Test
    void ourOwnPauseIsNotTheirSilence() {
        Liveness l = new Liveness(100 * MS, 300 * MS, 0, 0);
        assertEquals(Liveness.Action.PING, l.poll(100 * MS, 0));
        l.heard(350 * MS);
        assertEquals(Liveness.Action.NONE, l.poll(400 * MS, 0));
        assertEquals(Liveness.Action.PING, l.poll(450 * MS, 0));
    }
}
