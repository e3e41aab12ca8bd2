package io.repl.core.replication;

/**
 * Paces the requests of a resync (or of anything else that asks its peer for blocks at a
 * controlled rate), in the manner of DRBD's dynamic resync controller. Sans-I/O: every method
 * takes the clock of the current event.
 *
 * <p>Three quantities:
 * <ul>
 *   <li><b>In flight</b>: bytes requested and not yet answered (for a resync: written on this
 *       node). Never more than the fill target: that bounds the resync traffic an application
 *       write can find ahead of it in the peer link's send queue, in the source's reads and in
 *       this node's disk queue.</li>
 *   <li><b>The rate</b>: a token bucket refilled at it bounds how fast requests go out. While
 *       the application writes the rate is the floor (from its first write until
 *       {@link #QUIET_STEPS} steps passed without one); above the floor the resync yields. With no application writes the controller moves the rate
 *       toward the rate that would keep the fill target in flight at the latency it measures
 *       (Little's law: fill / latency, the latency being the mean in-flight bytes over the
 *       answered bytes of the last step), never above the ceiling. A change of that target is
 *       spread evenly over the planning horizon, one part per step, so the rate climbs back
 *       after the application stops writing within one horizon, without oscillating.</li>
 *   <li><b>Steps</b>: {@link #onTick} closes one, at the core's tick.</li>
 * </ul>
 * With the controller off ({@code plan-ahead 0}) the rate is the fixed one, and the floor and
 * the fill cap still apply.
 *
 * <p>Use: {@link #start}, then per request {@link #budgetBytes} (send only if at least a
 * block), {@link #onSent}, later {@link #onAnswered}; {@link #onApplicationWrite} for every
 * write of the application to the device being synced; {@link #onTick} every tick;
 * {@link #stop} when the sync ends or the connection goes.
 */
final class RateController {
    private static final double NANOS_PER_SECOND = 1e9;
    /**
     * Steps without an application write before the rate leaves the floor: a writer with pauses
     * between its writes (or writes held up a moment) still counts as writing.
     */
    static final int QUIET_STEPS = 5;
    private final RateControl config;
    private final long tickNanos;
    /** Planned corrections of the rate (bytes/s), one per coming step; {@code head} is the next. */
    private final long[] plan;
    private int head;
    /** Sum of {@link #plan}. */
    private long planned;
    private long rate;
    /** The rate the controller steers toward: fill / latency, within the bounds. */
    private long target;
    private double credit;
    private long refilledNanos;
    private long inFlight;
    private long stepNanos;
    private long changedNanos;
    /** Since the last step: bytes answered, the integral of bytes in flight over time, application writes. */
    private long answered;
    private double inFlightByteNanos;
    private long applicationBytes;
    private boolean yielding;
    /** Steps since the last one with an application write. */
    private int quietSteps;
    private boolean running;

    RateController(RateControl config, long tickNanos) {
        if (tickNanos <= 0) {
            throw new IllegalArgumentException("tick must be positive");
        }
        this.config = config;
        this.tickNanos = tickNanos;
        int steps = (int) Math.max(1, (config.planAheadNanos() + tickNanos - 1) / tickNanos);
        this.plan = new long[config.dynamic() ? steps : 1];
    }

    RateControl config() {
        return config;
    }

    /** A new sync begins: nothing in flight, the rate at the ceiling (fixed rate) until something says otherwise. */
    void start(long nowNanos) {
        java.util.Arrays.fill(plan, 0);
        head = 0;
        planned = 0;
        rate = config.dynamic() ? config.maxBytesPerSecond() : config.fixedBytesPerSecond();
        target = rate;
        inFlight = 0;
        answered = 0;
        inFlightByteNanos = 0;
        applicationBytes = 0;
        yielding = false;
        quietSteps = 0;
        stepNanos = nowNanos;
        changedNanos = nowNanos;
        refilledNanos = nowNanos;
        // One step's worth at once: a sync starts without waiting for the first tick.
        credit = creditMax();
        running = true;
    }

    void stop() {
        running = false;
        inFlight = 0;
    }

    /** Bytes that may be requested now: what the bucket holds, within the room under the fill target. */
    long budgetBytes(long nowNanos) {
        if (!running) {
            return 0;
        }
        refill(nowNanos);
        return Math.max(0, Math.min((long) credit, config.fillTargetBytes() - inFlight));
    }

    /**
     * The most {@link #budgetBytes} can come to: one step's worth at the current rate, within
     * the fill target. A request smaller than its run waits until this much may go, so that the
     * trickle of credit between answers does not become a stream of tiny requests.
     */
    long chunkBytes() {
        return Math.max(ByteRange.BLOCK_BYTES, Math.min((long) creditMax(), config.fillTargetBytes()));
    }

    /** {@code bytes} were requested. */
    void onSent(long bytes, long nowNanos) {
        integrate(nowNanos);
        refill(nowNanos);
        inFlight += bytes;
        credit -= bytes;
        if (bytes <= 0 || inFlight > config.fillTargetBytes()) {
            throw new IllegalStateException("resync request of " + bytes + " bytes makes " + inFlight
                    + " in flight, over the fill target " + config.fillTargetBytes());
        }
    }

    /** {@code bytes} of an earlier request were answered (written, refused, or dropped). */
    void onAnswered(long bytes, long nowNanos) {
        if (!running) {
            return;
        }
        integrate(nowNanos);
        inFlight -= bytes;
        answered += bytes;
        if (bytes <= 0 || inFlight < 0) {
            throw new IllegalStateException("answer of " + bytes + " bytes leaves " + inFlight + " in flight");
        }
    }

    /** The application wrote {@code bytes} to the device being synced: the rate drops to the floor at once. */
    void onApplicationWrite(long bytes, long nowNanos) {
        if (!running) {
            return;
        }
        applicationBytes += bytes;
        if (!yielding) {
            refill(nowNanos);
            toFloor();
        }
    }

    /** Closes a step: the floor if the application wrote in it, else the next part of the plan. */
    void onTick(long nowNanos) {
        if (!running || nowNanos - stepNanos <= 0) {
            return;
        }
        integrate(nowNanos);
        refill(nowNanos);
        quietSteps = applicationBytes > 0 ? 0 : quietSteps + 1;
        if (applicationBytes > 0 || yielding && quietSteps < QUIET_STEPS) {
            toFloor();
        } else {
            yielding = false;
            if (config.dynamic()) {
                steer();
            } else {
                rate = config.fixedBytesPerSecond();
            }
        }
        credit = Math.min(credit, creditMax());
        answered = 0;
        inFlightByteNanos = 0;
        applicationBytes = 0;
        stepNanos = nowNanos;
    }

    /** The current rate (bytes/s) requests are paced at. */
    long rateBytesPerSecond() {
        return rate;
    }

    long inFlightBytes() {
        return inFlight;
    }

    boolean yielding() {
        return yielding;
    }

    private void toFloor() {
        yielding = true;
        rate = config.minBytesPerSecond();
        java.util.Arrays.fill(plan, 0);
        planned = 0;
        credit = Math.min(credit, creditMax());
    }

    /** Plans the correction toward the target over the horizon and applies this step's part. */
    private void steer() {
        if (answered > 0) {
            double latencyNanos = inFlightByteNanos / answered;
            double wanted = latencyNanos <= 0 ? config.maxBytesPerSecond()
                    : config.fillTargetBytes() * NANOS_PER_SECOND / latencyNanos;
            target = clamp((long) Math.min(wanted, Long.MAX_VALUE / 4));
        }
        // Nothing answered in this step: no new measure, the target stays.
        long correction = target - rate - planned;
        int steps = plan.length;
        long each = correction / steps;
        for (int i = 0; i < steps; i++) {
            plan[(head + i) % steps] += each;
        }
        plan[head] += correction - each * steps;
        planned += correction;
        long now = plan[head];
        plan[head] = 0;
        head = (head + 1) % steps;
        planned -= now;
        rate = clamp(rate + now);
    }

    private long clamp(long bytesPerSecond) {
        return Math.max(config.minBytesPerSecond(), Math.min(config.maxBytesPerSecond(), bytesPerSecond));
    }

    /** The bucket holds at most one step's worth (and at least one block, so a low floor still sends). */
    private double creditMax() {
        return Math.max(rate * (tickNanos / NANOS_PER_SECOND), ByteRange.BLOCK_BYTES);
    }

    private void refill(long nowNanos) {
        long elapsed = nowNanos - refilledNanos;
        if (elapsed > 0) {
            credit = Math.min(creditMax(), credit + rate * (elapsed / NANOS_PER_SECOND));
            refilledNanos = nowNanos;
        }
    }

    private void integrate(long nowNanos) {
        long elapsed = nowNanos - changedNanos;
        if (elapsed > 0) {
            inFlightByteNanos += (double) inFlight * elapsed;
            changedNanos = nowNanos;
        }
    }
}
