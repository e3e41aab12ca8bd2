package io.repl.core.replication;

/**
 * Progress of a resync (or of anything else that walks the device at a rate). The rates come
 * from the clock the driver passes in with every event.
 *
 * @param totalBytes to do when it started
 * @param leftBytes still to do
 * @param bytesPerSecond the measured rate over the last few seconds (since the start during the
 *     first ones), 0 until time has passed
 * @param etaSeconds estimated seconds left at that rate, -1 when unknown
 * @param controllerBytesPerSecond the rate the controller paces requests at now, -1 on the side
 *     that does not pace (the one answering requests)
 * @param inFlightBytes bytes requested and not yet answered, -1 on the side that does not pace
 */
public record SyncProgress(long totalBytes, long leftBytes, long bytesPerSecond, long etaSeconds,
                           long controllerBytesPerSecond, long inFlightBytes) {

    /** Progress on a side that does not pace requests. */
    public SyncProgress(long totalBytes, long leftBytes, long bytesPerSecond, long etaSeconds) {
        this(totalBytes, leftBytes, bytesPerSecond, etaSeconds, -1, -1);
    }

    public double percent() {
        return totalBytes == 0 ? 100.0 : 100.0 * (totalBytes - leftBytes) / totalBytes;
    }

    /** The same progress with the pacing side's figures. */
    public SyncProgress withController(long controllerRate, long inFlight) {
        return new SyncProgress(totalBytes, leftBytes, bytesPerSecond, etaSeconds, controllerRate, inFlight);
    }
}
