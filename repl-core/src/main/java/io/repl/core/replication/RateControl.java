package io.repl.core.replication;

/**
 * Bounds and targets of the resync rate controller (DRBD's c-plan-ahead, c-fill-target,
 * c-max-rate, c-min-rate).
 *
 * @param minBytesPerSecond the rate a resync keeps even while the application writes
 * @param maxBytesPerSecond the ceiling
 * @param planAheadNanos the controller's planning horizon
 * @param fillTargetBytes resync bytes the controller aims to keep in flight
 */
public record RateControl(long minBytesPerSecond, long maxBytesPerSecond, long planAheadNanos,
                          long fillTargetBytes) {

    public RateControl {
        if (minBytesPerSecond < 0 || maxBytesPerSecond <= 0 || minBytesPerSecond > maxBytesPerSecond) {
            throw new IllegalArgumentException("resync rates: 0 <= min <= max and max > 0");
        }
        if (planAheadNanos <= 0 || fillTargetBytes <= 0) {
            throw new IllegalArgumentException("plan-ahead and fill-target must be positive");
        }
    }

    public static RateControl defaults() {
        return new RateControl(4L << 20, 4L << 30, 2_000_000_000L, 8L << 20);
    }
}
