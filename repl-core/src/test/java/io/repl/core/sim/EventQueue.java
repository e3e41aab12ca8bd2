package io.repl.core.sim;

import java.util.PriorityQueue;

/**
 * The simulated clock: events ordered by time, ties by insertion order, never by hash order.
 * Everything that happens in a simulation is one of these events, run on one thread.
 */
final class EventQueue {
    private record Scheduled(long timeNanos, long sequence, Runnable action) implements Comparable<Scheduled> {
        @Override
        public int compareTo(Scheduled other) {
            int byTime = Long.compare(timeNanos, other.timeNanos);
            return byTime != 0 ? byTime : Long.compare(sequence, other.sequence);
        }
    }

    /** A runaway simulation (an event storm) is a bug; stop it instead of spinning. */
    private static final int PENDING_MAX = 1_000_000;
    private final PriorityQueue<Scheduled> queue = new PriorityQueue<>();
    private long nowNanos;
    private long sequence;
    private long executed;

    long now() {
        return nowNanos;
    }

    long executed() {
        return executed;
    }

    void at(long timeNanos, Runnable action) {
        if (queue.size() >= PENDING_MAX) {
            throw new IllegalStateException("more than " + PENDING_MAX + " pending events");
        }
        queue.add(new Scheduled(Math.max(timeNanos, nowNanos), sequence++, action));
    }

    void after(long delayNanos, Runnable action) {
        at(nowNanos + delayNanos, action);
    }

    /** Runs every event due up to {@code untilNanos}, then sets the clock there. */
    void runUntil(long untilNanos) {
        while (!queue.isEmpty() && queue.peek().timeNanos <= untilNanos) {
            Scheduled next = queue.poll();
            nowNanos = next.timeNanos;
            executed++;
            next.action.run();
        }
        nowNanos = Math.max(nowNanos, untilNanos);
    }
}
