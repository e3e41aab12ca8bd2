package io.repl.core.sim;

/**
 * The classes of fault and operator action a seed can exercise. {@link SimulatorTest} counts the
 * seeds that hit each one and asserts that every class was exercised, so a change that quietly
 * stops the simulator from reaching a fault fails the build.
 */
enum Fault {
    PEER_PARTITION,
    PEER_ONE_WAY_PARTITION,
    PEER_CUT,
    WITNESS_PARTITION,
    WITNESS_ONE_WAY_PARTITION,
    WITNESS_CRASH,
    PRIMARY_KILL,
    PRIMARY_POWER_LOSS,
    SECONDARY_KILL,
    SECONDARY_POWER_LOSS,
    /** A Secondary promoted at a random moment (never forced) and refused. */
    PROMOTE_REFUSED,
    /** A Secondary promoted at a random moment (never forced) and accepted. */
    PROMOTE_ACCEPTED,
    SWITCHOVER,
    ORDERLY_DOWN,
    WRITES_HELD,
    WITNESS_GRANTED,
    DEPOSED,
    FENCE_PEER_OUTDATED,
    FENCE_PEER_UNREACHABLE,
    FENCE_PEER_PRIMARY,
    FENCE_PEER_STONITH,
    RESUME_IO,
    /** Availability, with a witness: the Secondary of a crashed Primary was promoted without --force. */
    FAILOVER_THROUGH_WITNESS,
    /** Availability, with a witness: the Primary of a crashed Secondary went on writing. */
    PRIMARY_WENT_ON_ALONE,
    /** A node's metadata device failed a write, and the node's disk went Failed because of it. */
    METADATA_FAILURE,
    /** A node's data disk failed a flush, and the node's disk went Failed because of it. */
    FLUSH_FAILURE,
    /** A kill or power loss found data writes in flight; each landed or not. */
    WRITES_IN_FLIGHT_AT_CRASH,
    /** A node's link went above its high water mark while a write waited to be admitted. */
    LINK_CONGESTED,
    /** The Primary's data disk failed a write and it detached: Diskless, it served through its peer. */
    DETACHED_PRIMARY,
    /** The Secondary's data disk failed a write and it detached; the Primary went on alone. */
    DETACHED_SECONDARY,
    /** The operator detached a node's disk while the resource ran. */
    OPERATOR_DETACH,
    /** A Diskless Primary attached its disk again and resynced it while it served, to UpToDate. */
    ATTACHED_AS_PRIMARY,
    /** A Diskless Secondary attached its disk again and resynced it, to UpToDate. */
    ATTACHED_AS_SECONDARY,
    /**
     * on-congestion pull-ahead: a Primary went Ahead of its peer on a congested link, and the
     * resync it then sourced brought both back to Established and UpToDate.
     */
    PULLED_AHEAD,
    /** invalidate-remote on an UpToDate node overwrote its Secondary peer. */
    INVALIDATE_REMOTE,
    /** A resync interrupted part way (lost link, kill, power loss) resumed from what was left. */
    RESYNC_RESUMED,
    /**
     * An online resize grew a connected pair (the new area synced, or declared clean since both
     * disks hold zeroes there).
     */
    RESIZED,
    /** adjust changed a running node's resync and verify settings. */
    ADJUSTED,
    /**
     * The link broke just before the SyncSource got the target's STATE(UpToDate): the target
     * finished the resync, the source never saw it end.
     */
    RESYNC_END_UNSEEN,
    /** An after-split-brain policy resolved a split brain by discarding one side's changes. */
    AFTER_SPLIT_BRAIN_DISCARD,
    /** A checksum resync found a piece in sync (no data sent). */
    CSUM_MATCHED,
    /** A checksum resync found a piece that differs and sent it. */
    CSUM_DIFFERED,
    /** A resync sent a range of zeroes as a zero block. */
    ZERO_BLOCK_SENT,
    /** An online verify ran to its end during the random steps (writes going on): 0 blocks out of sync. */
    VERIFY_COMPLETED,
    /** An online verify was stopped part way (a disconnect, a role or disk change). */
    VERIFY_STOPPED,
    /**
     * At the end, blocks corrupted behind the Secondary's back were found by verify, exactly, while
     * the Primary wrote, and a disconnect and connect repaired them.
     */
    VERIFY_FOUND_CORRUPTION
}
