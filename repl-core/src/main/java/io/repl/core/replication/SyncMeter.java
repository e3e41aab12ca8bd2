package io.repl.core.replication;

/**
 * Counts resync progress against the clock passed in with events. The rate is measured over
 * the last {@link #WINDOW_NANOS} from samples taken at the core's tick, so that it follows a
 * rate controller's changes and a pause instead of averaging them away.
 */
final class SyncMeter {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    static final long WINDOW_NANOS = 3 * NANOS_PER_SECOND;
    /** Samples kept: a window's worth at a 50 ms tick; a faster tick shortens the window. */
    private static final int SAMPLES_MAX = 64;
    private final long[] sampleNanos = new long[SAMPLES_MAX];
    private final long[] sampleLeft = new long[SAMPLES_MAX];
    private int samples;
    private int next;
    private long totalBytes;
    private long startNanos;
    private boolean running;

    void start(long leftBytes, long nowNanos) {
        totalBytes = leftBytes;
        startNanos = nowNanos;
        running = true;
        samples = 0;
        next = 0;
        sample(leftBytes, nowNanos);
    }

    void stop() {
        running = false;
    }

    /** The bytes out of sync when the resync started. */
    long totalBytes() {
        return totalBytes;
    }

    boolean running() {
        return running;
    }

    /** Records where the sync stands; called at every tick. */
    void sample(long leftBytes, long nowNanos) {
        if (!running) {
            return;
        }
        sampleNanos[next] = nowNanos;
        sampleLeft[next] = leftBytes;
        next = (next + 1) % SAMPLES_MAX;
        samples = Math.min(samples + 1, SAMPLES_MAX);
    }

    SyncProgress progress(long leftBytes, long nowNanos) {
        if (!running) {
            return null;
        }
        long total = Math.max(totalBytes, leftBytes);
        // The oldest sample inside the window (the start if none is older).
        long fromNanos = startNanos;
        long fromLeft = total;
        for (int i = 0; i < samples; i++) {
            int at = Math.floorMod(next - samples + i, SAMPLES_MAX);
            if (nowNanos - sampleNanos[at] <= WINDOW_NANOS) {
                fromNanos = sampleNanos[at];
                fromLeft = sampleLeft[at];
                break;
            }
        }
        long elapsed = nowNanos - fromNanos;
        long done = Math.max(0, fromLeft - leftBytes);
        long rate = elapsed <= 0 ? 0 : (long) (done * (double) NANOS_PER_SECOND / elapsed);
        long eta = rate <= 0 ? -1 : (leftBytes + rate - 1) / rate;
        return new SyncProgress(total, leftBytes, rate, eta);
    }
}
