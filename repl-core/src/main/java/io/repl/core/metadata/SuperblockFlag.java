package io.repl.core.metadata;

/**
 * One bit of the superblock's flag word. Bits not listed here are rejected on decode, so a
 * superblock written by a newer version with new meanings is never half understood.
 */
public enum SuperblockFlag {
    /** The data is a consistent image (it may still be outdated). Clear during a resync target. */
    CONSISTENT(1),
    /** The data was UpToDate the last time this node knew its disk state. */
    WAS_UP_TO_DATE(1 << 1),
    /** The node is Primary; still set when it stopped, it means the Primary crashed. */
    PRIMARY(1 << 2),
    /** The node crashed while Primary; the activity log's extents may differ from the peer. */
    CRASHED_PRIMARY(1 << 3),
    /** Every activity log extent's dirty bits are on disk; replay is not needed. */
    AL_CLEAN(1 << 4),
    /** The peer's disk is known to be Outdated (it was fenced or told so). */
    PEER_OUTDATED(1 << 5),
    /** The whole device must be resynced at the next connect, whatever the identifiers say. */
    FULL_SYNC(1 << 6),
    /** The node was connected to its peer when the superblock was written. */
    CONNECTED(1 << 7),
    /**
     * The witness granted the other node since this one last held the newest data
     * (docs/FAILOVER.md): what this copy holds beyond the common generation was never
     * acknowledged, so a split brain with it resolves with this node as SyncTarget.
     */
    DEPOSED(1 << 8),
    /**
     * The node was Primary when its data split from the generation the bitmap identifier names
     * (it kept writing when the peer went away); clear for a node promoted after the split.
     * Meaningful only while the bitmap identifier is set; the after-split-brain policies
     * discard-younger-primary and discard-older-primary compare it.
     */
    SPLIT_AS_PRIMARY(1 << 9);

    /** Every bit some flag uses; anything else in a stored flag word is an error. */
    public static final int KNOWN_BITS = knownBits();

    private final int bit;

    SuperblockFlag(int bit) {
        this.bit = bit;
    }

    public int bit() {
        return bit;
    }

    /** The lowercase, dashed name used in dump-md and error messages. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    private static int knownBits() {
        int bits = 0;
        for (SuperblockFlag flag : values()) {
            bits |= flag.bit;
        }
        return bits;
    }
}
