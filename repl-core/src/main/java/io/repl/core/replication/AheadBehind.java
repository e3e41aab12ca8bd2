package io.repl.core.replication;

import io.repl.core.metadata.SuperblockFlag;
import io.repl.protocol.DiskState;
import io.repl.protocol.OutOfSync;
import io.repl.protocol.PeerState;
import io.repl.protocol.Role;

/**
 * {@code on-congestion = pull-ahead}: a Primary whose link to the peer is congested goes Ahead
 * instead of holding its writes, and its peer goes Behind; once the link drains, the blocks
 * written meanwhile are resynced on the same connection (docs/BACKPRESSURE.md).
 *
 * <ul>
 *   <li><b>Ahead</b> is entered from Established, with both disks UpToDate, when the driver
 *       reports the link not writable (its send queue above {@code congestion-fill}). The open
 *       barrier epoch is closed, so every write already sent keeps its acknowledgements and
 *       barrier, and a new generation starts: what follows is tracked against the one the peer
 *       holds, so a reconnect, a restart or a forced promotion of the peer sees who is newer
 *       (a split brain, never a silent overwrite).</li>
 *   <li>While Ahead, a new write is not sent: it is marked in the bitmap before it is submitted,
 *       the peer gets OUT_OF_SYNC for its range, and it is acknowledged by the rules for writes
 *       the peer does not have ({@link Failover#acksAlone}). STATE carries
 *       {@link PeerState#AHEAD}.</li>
 *   <li>A write the peer does not have is acknowledged only once the peer cannot be promoted
 *       without --force. Under fencing {@code outdate} (no witness) that holds from the start: a
 *       peer that loses this node without a goodbye makes itself Consistent, and one that stays
 *       connected learns it is Behind before anything else (TCP keeps the order). Under
 *       {@code dont-care} losing such writes is the policy. Under {@code resource-and-stonith}
 *       or with a witness the peer could be promoted after a loss, so new writes wait until its
 *       STATE shows it no longer UpToDate.</li>
 *   <li><b>Behind</b>: a Secondary whose Established peer says AHEAD. Its disk turns Outdated
 *       (persisted, as DRBD shows a Behind node): it is refused promotion without --force, its
 *       read-only export closes, and a restart finds it Outdated.</li>
 *   <li>Once the link is writable again and every write sent before Ahead is retired (DRBD waits
 *       for the same), the Ahead node starts a renegotiation on the live connection: the
 *       handshake finds its generation newer, the bitmaps are exchanged, and the pair resyncs the
 *       marked blocks (Ahead to SyncSource, Behind to SyncTarget) back to Established.</li>
 * </ul>
 *
 * <p>Only an Established pair pulls ahead. During a resync a congested link holds new writes as
 * under {@code block}: a write marked instead of mirrored while the target walks its bitmap could
 * lose its mark to a resync write of the same block (DRBD lets a SyncSource pull ahead too).
 */
final class AheadBehind {
    private final CoreContext ctx;

    AheadBehind(CoreContext ctx) {
        this.ctx = ctx;
    }

    /** The STATE flag that tells the peer it is Behind. */
    int stateFlags() {
        return ctx.state.replication == ReplicationState.AHEAD ? PeerState.AHEAD : 0;
    }

    /** Whether new writes must wait: Ahead, but the peer may still be promoted as if current. */
    boolean holdsWrites() {
        return ctx.state.replication == ReplicationState.AHEAD && !acksAlone();
    }

    /**
     * Whether a write this Ahead node does not mirror may be acknowledged: at once where losing
     * this node makes the peer unpromotable (or losses are accepted), else once the peer's STATE
     * shows it knows it is behind.
     */
    private boolean acksAlone() {
        FailoverPolicy policy = ctx.config.failover();
        boolean peerOutdatesItself = !policy.witness() && policy.fencing() == FailoverPolicy.Fencing.OUTDATE;
        boolean lossesAccepted = !policy.witness() && policy.fencing() == FailoverPolicy.Fencing.DONT_CARE;
        return peerOutdatesItself || lossesAccepted || ctx.state.peerDisk != DiskState.UP_TO_DATE;
    }

    /** A write goes to the local disk only (already marked in the bitmap): tell a Behind peer. */
    void onWriteNotMirrored(ByteRange range) {
        if (ctx.state.replication == ReplicationState.AHEAD && ctx.state.connected()) {
            ctx.send(new OutOfSync(range.offset(), (int) range.length()));
        }
    }

    /** The peer's STATE (outside a handshake): AHEAD makes this Established Secondary Behind. */
    void onPeerState(PeerState message) {
        NodeState s = ctx.state;
        if (!message.has(PeerState.AHEAD) || s.replication != ReplicationState.ESTABLISHED
                || s.role != Role.SECONDARY) {
            return;
        }
        s.replication = ReplicationState.BEHIND;
        String why = "behind " + ctx.peerLabel() + ", which pulled ahead while its link to this node was"
                + " congested; a resync follows once the link drains";
        if (s.disk == DiskState.UP_TO_DATE) {
            // On disk first: from now on the peer acknowledges writes this copy lacks.
            ctx.meta.setFlag(SuperblockFlag.WAS_UP_TO_DATE, false);
            s.disk = DiskState.OUTDATED;
            ctx.failover.note(why);
        }
        ctx.log("warn", "Established -> Behind, disk " + s.disk.displayName() + ": " + why);
    }

    /** Once per event: enter Ahead on congestion, and resync once the link has drained. */
    void afterEvent() {
        NodeState s = ctx.state;
        if (ctx.config.onCongestion() != OnCongestion.PULL_AHEAD || !s.connected()) {
            return;
        }
        if (s.replication == ReplicationState.ESTABLISHED && s.peerCongested && s.role == Role.PRIMARY
                && s.disk == DiskState.UP_TO_DATE && s.peerDisk == DiskState.UP_TO_DATE
                && !ctx.roles.confirming()) {
            goAhead();
        } else if (s.replication == ReplicationState.AHEAD && !s.peerCongested && !ctx.writePath.awaitsPeer()) {
            ctx.log("info", "the link to " + ctx.peerLabel() + " drained: Ahead -> resync of "
                    + ctx.meta.bitmap().dirtyBytes() + " bytes marked meanwhile");
            ctx.handshake.begin();
        }
    }

    private void goAhead() {
        // Everything already sent is closed by a barrier while the peer still takes writes, so
        // those writes retire as before; nothing sent after this is DATA.
        ctx.writePath.closeOpenEpoch();
        if (ctx.meta.generationShared()) {
            ctx.meta.newCurrent();
        }
        ctx.state.replication = ReplicationState.AHEAD;
        ctx.log("warn", "congestion-fill reached on the link to " + ctx.peerLabel() + ": Established -> Ahead;"
                + " new writes go to the local disk and the bitmap until the link drains"
                + (holdsWrites() ? " (held until " + ctx.peerLabel() + " confirms it is behind)" : ""));
        ctx.writePath.pump();
    }
}
