package io.repl.core.replication;

/**
 * What status shows of the failover rules: the policy, why the disk is in its state, whether
 * writes are held and why, and what the witness said last.
 *
 * @param fencing the policy
 * @param diskNote why the disk is Consistent or Outdated (or UpToDate after a goodbye), what failed
 *     on a Failed disk, or null
 * @param diskNoteNanos when that happened, on the driver's clock, or 0
 * @param heldReason why a Primary holds writes, or null when it does not
 * @param heldSinceNanos since when, or 0
 * @param mayLoseWrites a Primary writes alone without any fencing (dont-care): a failover to the
 *     peer would lose those writes
 * @param witness the witness as seen from here, or null without one
 * @param promotionPending a promotion waits for an answer (the peer seeing it, the witness, the
 *     fence-peer handler): a Primary does not serve its export until it has one
 */
public record FailoverStatus(FailoverPolicy.Fencing fencing, String diskNote, long diskNoteNanos, String heldReason,
                             long heldSinceNanos, boolean mayLoseWrites, WitnessView witness,
                             boolean promotionPending) {

    /**
     * The witness as this node last heard from it.
     *
     * @param reachable whether its connection is up
     * @param lastAnswer the witness's last verdict in words, or null before the first
     * @param generation the record's generation as last reported, 0 if unknown
     * @param holders the record's holders (bit per node id)
     * @param forced whether the record's last change was a --force
     */
    public record WitnessView(boolean reachable, String lastAnswer, long generation, int holders, boolean forced) {
    }
}
