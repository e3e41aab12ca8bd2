package io.repl.core.replication;

/**
 * The replication states operators see, spelled as in PRODUCT.md. Verify and Ahead/Behind are
 * named for the contract but this core does not enter them yet (see CORE.md, gaps).
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

    /** Whether this node sends blocks to a resyncing peer in this state. */
    public boolean isSource() {
        return this == SYNC_SOURCE || this == PAUSED_SYNC_S;
    }

    /** Whether this node receives resync blocks in this state. */
    public boolean isTarget() {
        return this == SYNC_TARGET || this == PAUSED_SYNC_T;
    }
}
