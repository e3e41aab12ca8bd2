package io.repl.agent.io;

import io.netty.channel.SelectStrategy;
import io.netty.channel.SelectStrategyFactory;
import io.netty.util.IntSupplier;

/**
 * Lets an event loop poll for a short while before it sleeps, when its engines have I/O in
 * flight. A completion then finds the loop awake: on a virtual machine an idle vCPU halts,
 * and waking it for every completion interrupt costs more than the disk's own latency.
 * With nothing in flight the loop sleeps at once, so an idle agent uses no CPU.
 */
public final class PollingSelectStrategy implements SelectStrategy {
    /** JVM property with the poll budget in microseconds; 0 turns polling off. */
    public static final String POLL_PROPERTY = "repl.poll-us";
    /**
     * Long enough to bridge the gap between completions of a queue of small I/Os on this
     * class of machine (tens of microseconds), short enough that a lull costs little CPU.
     */
    public static final long POLL_MICROS_DEFAULT = 50;

    /** Requests in flight on the engines this thread drives; touched only by that thread. */
    private static final ThreadLocal<int[]> IN_FLIGHT = ThreadLocal.withInitial(() -> new int[1]);

    private final long pollNanos;
    /** This loop thread's counter, looked up on the first call (always from that thread). */
    private int[] inFlight;

    private PollingSelectStrategy(long pollNanos) {
        this.pollNanos = pollNanos;
    }

    /** The poll budget from {@value #POLL_PROPERTY}, or the default; negative values mean 0. */
    public static long configuredNanos() {
        return Math.max(0, Long.getLong(POLL_PROPERTY, POLL_MICROS_DEFAULT)) * 1000;
    }

    /** A factory for loops that poll up to {@code pollNanos} (0: never) before sleeping. */
    public static SelectStrategyFactory factory(long pollNanos) {
        return () -> new PollingSelectStrategy(pollNanos);
    }

    /** Called on a loop's thread when its engines' in-flight count changes. */
    static void inFlightChanged(int delta) {
        IN_FLIGHT.get()[0] += delta;
    }

    @Override
    public int calculateStrategy(IntSupplier selectNow, boolean hasTasks) throws Exception {
        if (hasTasks) {
            return selectNow.get();
        }
        if (inFlight == null) {
            inFlight = IN_FLIGHT.get();
        }
        if (pollNanos > 0 && inFlight[0] > 0) {
            long deadline = System.nanoTime() + pollNanos;
            do {
                int ready = selectNow.get();
                if (ready > 0) {
                    return ready;
                }
                Thread.onSpinWait();
            } while (System.nanoTime() - deadline < 0);
        }
        return SelectStrategy.SELECT;
    }
}
