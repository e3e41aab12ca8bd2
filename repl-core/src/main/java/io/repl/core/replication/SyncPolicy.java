package io.repl.core.replication;

import io.repl.protocol.DigestAlgorithm;

/**
 * How a resource resyncs and verifies: the tunables of issue 9, apart from the window and flush
 * sizes {@link CoreConfig} already carries.
 *
 * @param csums checksum-based resync: the SyncTarget sends the digest of each range it wants, and
 *     the SyncSource sends the data only where its own digest differs
 * @param verifyAlgorithm the digest online verify compares
 * @param rate the resync rate controller's bounds and targets
 * @param afterSplitBrain what a handshake that finds split brain does
 */
public record SyncPolicy(boolean csums, DigestAlgorithm verifyAlgorithm, RateControl rate,
                         AfterSplitBrain afterSplitBrain) {

    public SyncPolicy {
        if (verifyAlgorithm == null || rate == null || afterSplitBrain == null) {
            throw new IllegalArgumentException("verifyAlgorithm, rate and afterSplitBrain must be given");
        }
    }

    /** No checksum resync, CRC32C for verify, the controller's defaults, and disconnect on split brain. */
    public static SyncPolicy defaults() {
        return new SyncPolicy(false, DigestAlgorithm.CRC32C, RateControl.defaults(), AfterSplitBrain.defaults());
    }

    public SyncPolicy withCsums(boolean next) {
        return new SyncPolicy(next, verifyAlgorithm, rate, afterSplitBrain);
    }

    public SyncPolicy withVerifyAlgorithm(DigestAlgorithm next) {
        return new SyncPolicy(csums, next, rate, afterSplitBrain);
    }

    public SyncPolicy withRate(RateControl next) {
        return new SyncPolicy(csums, verifyAlgorithm, next, afterSplitBrain);
    }

    public SyncPolicy withAfterSplitBrain(AfterSplitBrain next) {
        return new SyncPolicy(csums, verifyAlgorithm, rate, next);
    }
}
