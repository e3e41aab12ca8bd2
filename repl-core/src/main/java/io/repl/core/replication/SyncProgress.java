package io.repl.core.replication;

/**
 * Resync progress. The rate comes from the clock the driver passes in with every event.
 *
 * @param totalBytes out of sync when the resync started
 * @param leftBytes still out of sync
 * @param bytesPerSecond average since the start, 0 until time has passed
 * @param etaSeconds estimated seconds left, -1 when unknown
 */
public record SyncProgress(long totalBytes, long leftBytes, long bytesPerSecond, long etaSeconds) {

    public double percent() {
        return totalBytes == 0 ? 100.0 : 100.0 * (totalBytes - leftBytes) / totalBytes;
    }
}
