package io.repl.agent.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.SelectStrategy;
import io.netty.util.IntSupplier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PollingSelectStrategyTest {
    private static final long LONG_POLL_NANOS = 60_000_000_000L;
    private int inFlight;

    private static final long NEVER_NANOS = LONG_POLL_NANOS;
    private final AtomicBoolean completions = new AtomicBoolean();
    private final BooleanSupplier probe = completions::get;

    @AfterEach
    void clear() {
        PollingSelectStrategy.inFlightChanged(-inFlight);
        inFlight = 0;
        PollingSelectStrategy.removeProbe(probe);
    }

    private void inFlight(int delta) {
        inFlight += delta;
        PollingSelectStrategy.inFlightChanged(delta);
    }

    /** A selectNow that reports {@code ready} events on its {@code onCall}-th call, none before. */
    private static IntSupplier readyOnCall(AtomicInteger calls, int onCall, int ready) {
        return () -> calls.incrementAndGet() >= onCall ? ready : 0;
    }

    @Test
    void nothingInFlightSleepsWithoutPolling() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        SelectStrategy s = PollingSelectStrategy.factory(LONG_POLL_NANOS).newSelectStrategy();
        assertEquals(SelectStrategy.SELECT, s.calculateStrategy(readyOnCall(calls, 1, 3), false));
        assertEquals(0, calls.get(), "an idle loop must not poll");
    }

    @Test
    void pendingTasksTakeWhateverIsReadyNow() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        SelectStrategy s = PollingSelectStrategy.factory(LONG_POLL_NANOS).newSelectStrategy();
        assertEquals(0, s.calculateStrategy(readyOnCall(calls, 2, 3), true));
        assertEquals(1, calls.get());
    }

    @Test
    void inFlightIoPollsUntilEventsArrive() throws Exception {
        inFlight(4);
        AtomicInteger calls = new AtomicInteger();
        SelectStrategy s = PollingSelectStrategy.factory(LONG_POLL_NANOS).newSelectStrategy();
        // With a minute of budget, only the fifth poll's events can end the wait.
        assertEquals(2, s.calculateStrategy(readyOnCall(calls, 5, 2), false));
        assertEquals(5, calls.get());
    }

    @Test
    void aSpentBudgetSleeps() throws Exception {
        inFlight(1);
        AtomicInteger calls = new AtomicInteger();
        SelectStrategy s = PollingSelectStrategy.factory(1).newSelectStrategy();
        assertEquals(SelectStrategy.SELECT, s.calculateStrategy(readyOnCall(calls, Integer.MAX_VALUE, 1), false));
        assertTrue(calls.get() >= 1, "polled at least once");
    }

    @Test
    void pollingOffNeverPolls() throws Exception {
        inFlight(1);
        AtomicInteger calls = new AtomicInteger();
        SelectStrategy s = PollingSelectStrategy.factory(0).newSelectStrategy();
        assertEquals(SelectStrategy.SELECT, s.calculateStrategy(readyOnCall(calls, 1, 1), false));
        assertEquals(0, calls.get());
    }

    @Test
    void whilePollingTheDescriptorsAreLookedAtOnlyEveryInterval() throws Exception {
        inFlight(1);
        AtomicInteger calls = new AtomicInteger();
        // Half a second of polling, with a look at the descriptors every minute: one look only,
        // where looking on every turn would make thousands of system calls.
        SelectStrategy s = PollingSelectStrategy.factory(TimeUnit.MILLISECONDS.toNanos(500), NEVER_NANOS)
                .newSelectStrategy();
        assertEquals(SelectStrategy.SELECT, s.calculateStrategy(readyOnCall(calls, Integer.MAX_VALUE, 1), false));
        assertEquals(1, calls.get());
    }

    @Test
    void aCompletionInAnEnginesQueueIsLookedForAtOnce() throws Exception {
        inFlight(1);
        PollingSelectStrategy.addProbe(probe);
        AtomicInteger calls = new AtomicInteger();
        SelectStrategy s = PollingSelectStrategy.factory(TimeUnit.SECONDS.toNanos(2), NEVER_NANOS).newSelectStrategy();
        // The queue holds a completion whose eventfd signal the first look does not see yet:
        // the loop looks again shortly, not a minute later, and takes it.
        completions.set(true);
        assertEquals(1, s.calculateStrategy(readyOnCall(calls, 2, 1), false));
        assertEquals(2, calls.get());
    }

    @Test
    void aRemovedProbeIsNoLongerAsked() throws Exception {
        inFlight(1);
        PollingSelectStrategy.addProbe(probe);
        PollingSelectStrategy.removeProbe(probe);
        completions.set(true);
        AtomicInteger calls = new AtomicInteger();
        SelectStrategy s = PollingSelectStrategy.factory(TimeUnit.MILLISECONDS.toNanos(200), NEVER_NANOS)
                .newSelectStrategy();
        assertEquals(SelectStrategy.SELECT, s.calculateStrategy(readyOnCall(calls, 2, 1), false));
        assertEquals(1, calls.get(), "the engine is gone: only the regular look");
    }
}
