package io.repl.core.replication;

/**
 * Applies the after-split-brain policies ({@link AfterSplitBrain}) to one split brain, from one
 * node's view. A pure function of what both nodes sent at the handshake (roles from STATE,
 * changed blocks and the split-as-Primary flag from UUIDS), so the peer, deciding from the swapped
 * sides, names the same victim.
 */
final class SplitBrainRecovery {

    private SplitBrainRecovery() {
    }

    /**
     * One side of a split brain, as it announced itself at the handshake.
     *
     * @param primary its role is Primary
     * @param changedBlocks blocks set in its bitmap: what it wrote since the split (and what it
     *     had not resynced before it)
     * @param primaryAtSplit it was Primary when its data split from the generation its bitmap
     *     counts from (it kept writing when the peer went away); false for a node promoted later
     * @param nodeId its node id, the tie-break where losing either side costs nothing
     * @param inconsistent its disk is Inconsistent: a resync into it (an earlier resolution of
     *     this split brain, cut off) already overwrote part of its changes
     */
    record Side(boolean primary, long changedBlocks, boolean primaryAtSplit, int nodeId, boolean inconsistent) {
    }

    /** Which side's changes are discarded. */
    enum Victim {
        NONE, SELF, PEER;

        Victim mirror() {
            return this == SELF ? PEER : this == PEER ? SELF : NONE;
        }
    }

    /**
     * What the policies say.
     *
     * @param victim the side that becomes SyncTarget, or NONE (stay apart)
     * @param policy the policy that decided, as configured ({@code after-sb-0pri=discard-zero-changes})
     * @param reason why, in words for the log and the refusal
     */
    record Outcome(Victim victim, String policy, String reason) {
        Outcome mirror() {
            return new Outcome(victim.mirror(), policy, reason);
        }
    }

    static Outcome decide(AfterSplitBrain policy, Side self, Side peer) {
        int primaries = (self.primary() ? 1 : 0) + (peer.primary() ? 1 : 0);
        if (policy.automatic() && primaries < 2 && self.inconsistent() != peer.inconsistent()) {
            // A policy resolved this split brain before and the resync into the victim was cut
            // off: its copy is half overwritten and can only be the target again (the counts,
            // merged by that resync's bitmap exchange, no longer say anything). Never a Primary.
            Side half = self.inconsistent() ? self : peer;
            if (!half.primary()) {
                return new Outcome(self.inconsistent() ? Victim.SELF : Victim.PEER, "continued",
                        "the resync of an earlier resolution was cut off; its target is Inconsistent");
            }
        }
        if (primaries == 0) {
            return zeroPrimaries(policy.zeroPrimaries(), self, peer);
        }
        if (primaries == 2) {
            return new Outcome(Victim.NONE, "after-sb-2pri=" + policy.twoPrimaries().configName(),
                    "both nodes are Primary");
        }
        String name = "after-sb-1pri=" + policy.onePrimary().configName();
        Victim secondary = self.primary() ? Victim.PEER : Victim.SELF;
        switch (policy.onePrimary()) {
            case DISCARD_SECONDARY:
                return new Outcome(secondary, name, "the Secondary's changes go");
            case CONSENSUS:
                Outcome zero = zeroPrimaries(policy.zeroPrimaries(), self, peer);
                if (zero.victim() == secondary) {
                    return new Outcome(secondary, name + " with " + zero.policy(), zero.reason());
                }
                return new Outcome(Victim.NONE, name + " with " + zero.policy(), zero.victim() == Victim.NONE
                        ? zero.reason() : zero.reason() + ", but that would discard the Primary's changes");
            default:
                return new Outcome(Victim.NONE, name, "the operator decides");
        }
    }

    private static Outcome zeroPrimaries(AfterSplitBrain.ZeroPrimaries policy, Side self, Side peer) {
        String name = "after-sb-0pri=" + policy.configName();
        switch (policy) {
            case DISCARD_YOUNGER_PRIMARY:
            case DISCARD_OLDER_PRIMARY:
                if (self.primaryAtSplit() == peer.primaryAtSplit()) {
                    return new Outcome(Victim.NONE, name, self.primaryAtSplit()
                            ? "both nodes were Primary when they parted" : "neither node was Primary when they parted");
                }
                boolean olderIsSelf = self.primaryAtSplit();
                boolean discardOlder = policy == AfterSplitBrain.ZeroPrimaries.DISCARD_OLDER_PRIMARY;
                Victim victim = olderIsSelf == discardOlder ? Victim.SELF : Victim.PEER;
                return new Outcome(victim, name, (discardOlder ? "the node that was Primary when they parted"
                        : "the node promoted after they parted") + " loses its changes");
            case DISCARD_ZERO_CHANGES:
                return leastChanges(name, self, peer, true);
            case DISCARD_LEAST_CHANGES:
                return leastChanges(name, self, peer, false);
            default:
                return new Outcome(Victim.NONE, name, "the operator decides");
        }
    }

    private static Outcome leastChanges(String name, Side self, Side peer, boolean zeroOnly) {
        long mine = self.changedBlocks();
        long theirs = peer.changedBlocks();
        String counts = " (" + mine + " blocks changed here, " + theirs + " on the peer)";
        if (mine == 0 && theirs == 0) {
            // Neither wrote: the copies hold the same data, and either may go. A fixed tie-break.
            return new Outcome(self.nodeId() < peer.nodeId() ? Victim.PEER : Victim.SELF, name,
                    "neither side changed anything" + counts);
        }
        if (mine == theirs || zeroOnly && mine != 0 && theirs != 0) {
            return new Outcome(Victim.NONE, name, (zeroOnly ? "both sides changed blocks"
                    : "both sides changed as many blocks") + counts);
        }
        Victim victim = mine < theirs ? Victim.SELF : Victim.PEER;
        return new Outcome(victim, name, (zeroOnly ? "one side changed nothing" : "the side with fewer changes loses")
                + counts);
    }
}
