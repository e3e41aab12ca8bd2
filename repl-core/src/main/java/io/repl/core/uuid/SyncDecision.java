package io.repl.core.uuid;

/** What a handshake concluded about the two copies, seen from the local node. */
public enum SyncDecision {
    /** Neither node has a data generation yet; nothing to sync until the operator starts one. */
    NO_DATA,
    /** Both copies hold the same generation: no resync. */
    IN_SYNC,
    /** The peer is behind us by what our bitmap (plus its own) records: we send those blocks. */
    BITMAP_SYNC_SOURCE,
    /** We are behind the peer by what its bitmap (plus ours) records: we receive. */
    BITMAP_SYNC_TARGET,
    /** The peer descends from an older generation of ours that no bitmap covers: send all. */
    FULL_SYNC_SOURCE,
    /** We descend from an older generation of the peer's that no bitmap covers: receive all. */
    FULL_SYNC_TARGET,
    /** Both nodes started new generations independently: disconnect, never merge silently. */
    SPLIT_BRAIN,
    /** No generation in common at all: these are different volumes; refuse to connect. */
    UNRELATED_DATA;

    /** The same decision seen from the peer. */
    public SyncDecision mirror() {
        switch (this) {
            case BITMAP_SYNC_SOURCE:
                return BITMAP_SYNC_TARGET;
            case BITMAP_SYNC_TARGET:
                return BITMAP_SYNC_SOURCE;
            case FULL_SYNC_SOURCE:
                return FULL_SYNC_TARGET;
            case FULL_SYNC_TARGET:
                return FULL_SYNC_SOURCE;
            default:
                return this;
        }
    }
}
