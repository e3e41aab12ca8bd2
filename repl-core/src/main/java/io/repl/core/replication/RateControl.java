package io.repl.core.replication;

/**
 * Bounds and targets of the resync rate controller ({@link RateController}), in the manner of
 * DRBD's c-plan-ahead, c-fill-target, c-max-rate and c-min-rate.
 *
 * @param minBytesPerSecond the floor: while the application writes, the resync slows to this
 *     rate, and never below it, so it always finishes
 * @param maxBytesPerSecond the ceiling
 * @param planAheadNanos the horizon over which the controller spreads a correction of its rate;
 *     0 turns the controller off and the resync runs at {@code fixedBytesPerSecond}
 * @param fillTargetBytes resync bytes the controller aims to keep in flight (requested and not
 *     yet written on the SyncTarget), and never exceeds: how much resync traffic an application
 *     write can find ahead of it in any one queue
 * @param fixedBytesPerSecond the rate without the controller ({@code planAheadNanos == 0}),
 *     between the floor and the ceiling; 0 while the controller runs
 */
public record RateControl(long minBytesPerSecond, long maxBytesPerSecond, long planAheadNanos,
                          long fillTargetBytes, long fixedBytesPerSecond) {
    /** The smallest floor: one block a second. */
    public static final long RATE_MIN = ByteRange.BLOCK_BYTES;
    /** The longest horizon; with the core's tick it bounds the controller's plan. */
    public static final long PLAN_AHEAD_NANOS_MAX = 60_000_000_000L;
    public static final long FILL_TARGET_BYTES_MAX = 1L << 30;

    public RateControl {
        check(minBytesPerSecond >= RATE_MIN, "the resync rate floor must be at least " + RATE_MIN + " bytes/s");
        check(maxBytesPerSecond >= minBytesPerSecond, "the resync rate ceiling (" + maxBytesPerSecond
                + " bytes/s) is below the floor (" + minBytesPerSecond + " bytes/s)");
        check(planAheadNanos >= 0 && planAheadNanos <= PLAN_AHEAD_NANOS_MAX, "plan-ahead 0 to 60 s");
        check(fillTargetBytes >= ByteRange.BLOCK_BYTES && fillTargetBytes <= FILL_TARGET_BYTES_MAX
                && fillTargetBytes % ByteRange.BLOCK_BYTES == 0, "fill-target a multiple of 4096 from 4 KiB to 1 GiB");
        if (planAheadNanos == 0) {
            check(fixedBytesPerSecond >= minBytesPerSecond && fixedBytesPerSecond <= maxBytesPerSecond,
                    "without the controller the fixed resync rate (" + fixedBytesPerSecond
                            + " bytes/s) must lie between the floor and the ceiling");
        } else {
            check(fixedBytesPerSecond == 0, "a fixed resync rate applies only with the controller off (plan-ahead 0)");
        }
    }

    /**
     * The controller with a 2 s horizon and 8 MiB in flight, a floor of 4 MiB/s and a ceiling
     * no disk of today reaches: a resync with no application writes runs as fast as the pair can.
     */
    public static RateControl defaults() {
        return new RateControl(4L << 20, 4L << 30, 2_000_000_000L, 8L << 20, 0);
    }

    /** The controller off: the resync runs at {@code bytesPerSecond} (the floor still applies under writes). */
    public static RateControl fixed(long bytesPerSecond, long minBytesPerSecond, long maxBytesPerSecond,
                                    long fillTargetBytes) {
        return new RateControl(minBytesPerSecond, maxBytesPerSecond, 0, fillTargetBytes, bytesPerSecond);
    }

    public boolean dynamic() {
        return planAheadNanos > 0;
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
