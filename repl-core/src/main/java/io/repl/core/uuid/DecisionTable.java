package io.repl.core.uuid;

/**
 * Decides at every handshake, from both nodes' generation identifiers, whether and which way to
 * resync. A pure function: the same two views always give the same verdict, and the peer, deciding
 * from the swapped views, always reaches the mirrored verdict, so the two nodes agree without
 * another round trip.
 *
 * <p>Rules are tried in order; the first that matches decides. Each rule either is symmetric or
 * comes as a pair checked together (a situation and its mirror); where a pair could match in both
 * directions at once, which no sequence of legitimate operations produces, a symmetric rule
 * before it refuses the connection. METADATA.md has the table with the reasoning per rule.
 */
public final class DecisionTable {

    private DecisionTable() {
    }

    /**
     * The verdict for the local node {@code self} meeting {@code peer}. First the cleanup rules:
     * if exactly one side's identifiers still describe a resync whose end it never saw, the table
     * decides on that side's corrected identifiers ({@link #afterMissedResyncEnd}) and the verdict
     * names the correction, which that side then records. If both sides look that way, which
     * happens only where the two stories cannot be told apart, neither is corrected.
     */
    public static Verdict decide(HandshakeView self, HandshakeView peer) {
        GenerationUuids mine = afterMissedResyncEnd(self.uuids(), peer.uuids());
        GenerationUuids theirs = afterMissedResyncEnd(peer.uuids(), self.uuids());
        if (mine != null && theirs == null) {
            return decideAsIs(withUuids(self, mine), peer).after(Cleanup.SELF_MISSED_RESYNC_END);
        }
        if (theirs != null && mine == null) {
            return decideAsIs(self, withUuids(peer, theirs)).after(Cleanup.PEER_MISSED_RESYNC_END);
        }
        return decideAsIs(self, peer);
    }

    /**
     * {@code mine} corrected for the end of a resync it sourced and never saw end, judged from
     * {@code theirs}; null when the identifiers show no such resync.
     *
     * <p>A source whose resync ended keeps its current generation A and moves its bitmap
     * identifier X into history: (A, 0, [X, ...]); the target takes the same set. A source that
     * missed the end still has (A, X, ...), and once it starts a generation N of its own (a
     * Primary losing its peer does at once) (N, X, [A, ...]). Its bitmap nevertheless counts
     * every block written since the target reached A: the resync cleared the bits it sent, and
     * every later write was marked. So the set it should have is (A, 0, [X, ...]), or
     * (N, A, [X, ...]). The peer shows the end happened when its newest generation of its own
     * making is A, with X right before it: (A, 0, [X, ...]), or (M, A, [X, ...]) after it
     * started one of its own. Only a completed resync from a node holding (A, X) gives the peer
     * that lineage, since A exists nowhere else.
     */
    public static GenerationUuids afterMissedResyncEnd(GenerationUuids mine, GenerationUuids theirs) {
        long stale = mine.bitmap();
        if (stale == 0 || theirs.history(0) != stale) {
            return null;
        }
        long adopted = theirs.bitmap() == 0 ? theirs.current() : theirs.bitmap();
        if (adopted == 0 || adopted == stale) {
            return null;
        }
        long[] history = mine.historyCopy();
        if (mine.current() == adopted) {
            return mine.afterResyncAsSource();
        }
        if (history[0] == adopted) {
            history[0] = stale;
            return GenerationUuids.of(mine.current(), adopted, history);
        }
        return null;
    }

    private static HandshakeView withUuids(HandshakeView view, GenerationUuids uuids) {
        return new HandshakeView(uuids, view.crashedPrimary(), view.nodeId());
    }

    private static Verdict decideAsIs(HandshakeView self, HandshakeView peer) {
        GenerationUuids mine = self.uuids();
        GenerationUuids theirs = peer.uuids();
        if (mine.current() == 0 || theirs.current() == 0) {
            return justCreated(mine.current(), theirs.current());
        }
        if (mine.current() == theirs.current()) {
            return currentEqual(self, peer);
        }
        boolean myBitmapIsTheirCurrent = matches(mine.bitmap(), theirs.current());
        boolean theirBitmapIsMyCurrent = matches(theirs.bitmap(), mine.current());
        if (myBitmapIsTheirCurrent || theirBitmapIsMyCurrent) {
            return pair(myBitmapIsTheirCurrent, theirBitmapIsMyCurrent,
                    DecisionRule.BITMAPS_CROSS_REFERENCED,
                    new Verdict(SyncDecision.BITMAP_SYNC_SOURCE,
                            DecisionRule.BITMAP_MATCHES_PEER_CURRENT));
        }
        boolean theirCurrentInMyHistory = mine.historyContains(theirs.current());
        boolean myCurrentInTheirHistory = theirs.historyContains(mine.current());
        if (theirCurrentInMyHistory || myCurrentInTheirHistory) {
            return pair(theirCurrentInMyHistory, myCurrentInTheirHistory,
                    DecisionRule.HISTORIES_CROSS_REFERENCED,
                    new Verdict(SyncDecision.FULL_SYNC_SOURCE,
                            DecisionRule.PEER_CURRENT_IN_HISTORY));
        }
        if (matches(mine.bitmap(), theirs.bitmap())) {
            return new Verdict(SyncDecision.SPLIT_BRAIN, DecisionRule.SPLIT_BRAIN_COMMON_BITMAP);
        }
        if (shareOlderGeneration(mine, theirs)) {
            return new Verdict(SyncDecision.SPLIT_BRAIN, DecisionRule.SPLIT_BRAIN_COMMON_HISTORY);
        }
        return new Verdict(SyncDecision.UNRELATED_DATA, DecisionRule.NO_COMMON_GENERATION);
    }

    private static Verdict justCreated(long myCurrent, long theirCurrent) {
        if (myCurrent == 0 && theirCurrent == 0) {
            return new Verdict(SyncDecision.NO_DATA, DecisionRule.BOTH_JUST_CREATED);
        }
        if (theirCurrent == 0) {
            return new Verdict(SyncDecision.FULL_SYNC_SOURCE, DecisionRule.PEER_JUST_CREATED);
        }
        return new Verdict(SyncDecision.FULL_SYNC_TARGET, DecisionRule.SELF_JUST_CREATED);
    }

    /**
     * Same generation on both sides. The data can still differ in the activity log extents of a
     * node that crashed as Primary (writes it started that the peer never got, or the reverse),
     * so such a node resends those extents; if both crashed, the lower node id goes first.
     */
    private static Verdict currentEqual(HandshakeView self, HandshakeView peer) {
        if (!self.crashedPrimary() && !peer.crashedPrimary()) {
            return new Verdict(SyncDecision.IN_SYNC, DecisionRule.CURRENT_EQUAL);
        }
        if (self.crashedPrimary() && !peer.crashedPrimary()) {
            return new Verdict(SyncDecision.BITMAP_SYNC_SOURCE,
                    DecisionRule.CURRENT_EQUAL_SELF_CRASHED_PRIMARY);
        }
        if (!self.crashedPrimary()) {
            return new Verdict(SyncDecision.BITMAP_SYNC_TARGET,
                    DecisionRule.CURRENT_EQUAL_PEER_CRASHED_PRIMARY);
        }
        if (self.nodeId() == peer.nodeId()) {
            throw new IllegalArgumentException("both views carry node id " + self.nodeId()
                    + "; the handshake must refuse a peer with our own id first");
        }
        return self.nodeId() < peer.nodeId()
                ? new Verdict(SyncDecision.BITMAP_SYNC_SOURCE,
                        DecisionRule.CURRENT_EQUAL_BOTH_CRASHED_SELF_LOWER_ID)
                : new Verdict(SyncDecision.BITMAP_SYNC_TARGET,
                        DecisionRule.CURRENT_EQUAL_BOTH_CRASHED_PEER_LOWER_ID);
    }

    /**
     * A pair of mirrored conditions: {@code forward} means the local node leads with
     * {@code forwardVerdict}, {@code backward} that the peer does. Both at once means the two
     * generations claim to descend from each other, which only corruption or tampering produces.
     */
    private static Verdict pair(boolean forward, boolean backward, DecisionRule bothRule,
                                Verdict forwardVerdict) {
        if (forward && backward) {
            return new Verdict(SyncDecision.UNRELATED_DATA, bothRule);
        }
        return forward ? forwardVerdict : forwardVerdict.mirror();
    }

    /** Whether the bitmap or a history identifier of one side appears among the other's. */
    private static boolean shareOlderGeneration(GenerationUuids mine, GenerationUuids theirs) {
        if (theirs.historyContains(mine.bitmap()) || mine.historyContains(theirs.bitmap())) {
            return true;
        }
        for (int i = 0; i < GenerationUuids.HISTORY_SIZE; i++) {
            long older = mine.history(i);
            if (older != 0 && (older == theirs.bitmap() || theirs.historyContains(older))) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(long uuid, long other) {
        return uuid != 0 && uuid == other;
    }
}
