package io.repl.core.replication;

/**
 * The replication states operators see, spelled as in PRODUCT.md. {@link #VERIFY_S} and
 * {@link #VERIFY_T} are Established with an online verify running (this node verifies, or its
 * peer does): the pair replicates as in Established meanwhile.
 *
 * <p>{@link #AHEAD} and {@link #BEHIND} come with {@code on-congestion = pull-ahead}
 * ({@link AheadBehind}): a Primary whose link is congested stops mirroring and is Ahead (it marks
 * its writes in the bitmap and tells the peer with OUT_OF_SYNC); its peer is Behind, with an
 * Outdated disk that is not promoted without --force. Once the link drains they resync, as
 * SyncSource and SyncTarget, back to Established.
 */
public enum ReplicationState {
    OFF("Off"),
    ESTABLISHED("Established"),
    SYNC_SOURCE("SyncSource"),
    SYNC_TARGET("SyncTarget"),
    PAUSED_SYNC_S("PausedSyncS"),
    PAUSED_SYNC_T("PausedSyncT"),
    VERIFY_S("VerifyS"),
    VERIFY_T("VerifyT"),
    AHEAD("Ahead"),
    BEHIND("Behind");

    private final String displayName;

    ReplicationState(String displayName) {
        this.displayName = displayName;
    }

    public String displayName() {
        return displayName;
    }

    /** Whether the pair is connected and in sync: Established, or verifying (which is Established too). */
    public boolean isEstablished() {
        return this == ESTABLISHED || this == VERIFY_S || this == VERIFY_T;
    }

    /** Whether this node sends blocks to a resyncing peer in this state. */
    public boolean isSource() {
        return this == SYNC_SOURCE || this == PAUSED_SYNC_S;
    }

    /** Whether this node receives resync blocks in this state. */
    public boolean isTarget() {
        return this == SYNC_TARGET || this == PAUSED_SYNC_T;
    }
}
