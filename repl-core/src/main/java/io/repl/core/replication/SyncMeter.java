package io.repl.core.replication;

/** Counts resync progress against the clock passed in with events. */
final class SyncMeter {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private long totalBytes;
    private long startNanos;
    private boolean running;

    void start(long leftBytes, long nowNanos) {
        totalBytes = leftBytes;
        startNanos = nowNanos;
        running = true;
    }

    void stop() {
        running = false;
    }

    boolean running() {
        return running;
    }

    SyncProgress progress(long leftBytes, long nowNanos) {
        if (!running) {
            return null;
        }
        long total = Math.max(totalBytes, leftBytes);
        long done = total - leftBytes;
        long elapsed = nowNanos - startNanos;
        long rate = elapsed <= 0 ? 0 : (long) (done * (double) NANOS_PER_SECOND / elapsed);
        long eta = rate <= 0 ? -1 : (leftBytes + rate - 1) / rate;
        return new SyncProgress(total, leftBytes, rate, eta);
    }
}
