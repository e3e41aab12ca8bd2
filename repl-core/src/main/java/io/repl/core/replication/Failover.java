package io.repl.core.replication;

import io.repl.core.metadata.SuperblockFlag;
import io.repl.protocol.DiskState;
import io.repl.protocol.PeerState;
import io.repl.protocol.Role;
import io.repl.protocol.WitnessVerdict;

/**
 * The failover rules of docs/FAILOVER.md: goodbyes, what losing the peer means on either side
 * under each fencing policy, and the writes a Primary holds while it may not write alone.
 *
 * <p>The one rule it keeps: a node acknowledges a write its peer does not have only once it
 * knows the peer cannot be promoted without --force. A Secondary that loses its Primary
 * without a goodbye makes itself unpromotable (Consistent) under {@code outdate}; a Primary
 * that loses its peer writes alone only when the policy, the fence-peer handler, the witness
 * or the operator says the peer cannot be promoted.
 */
final class Failover {
    /** Why a Primary holds writes. */
    enum HoldKind {
        /** Waiting for the witness to record the peer as outdated. */
        WITNESS,
        /** Waiting for the fence-peer handler (resource-and-stonith). */
        FENCE_PEER
    }

    private record Hold(HoldKind kind, String reason, long sinceNanos) {
    }

    private final CoreContext ctx;
    private final FailoverPolicy policy;
    /** We said goodbye on this connection: we will not write without the peer. */
    private boolean goodbyeSent;
    /** The peer's latest STATE on this connection says goodbye (and Secondary). */
    private boolean peerGoodbye;
    /** The role in the peer's latest STATE on this connection, to see it become Primary. */
    private Role lastPeerRole;
    private String diskNote;
    private long diskNoteNanos;
    private Hold hold;
    private boolean mayLoseWrites;
    /** Counts fence-peer runs, so a late result of an old run is recognised and ignored. */
    private long fenceRun;
    private boolean fenceRunning;
    /** We outdated the peer (fence-peer or the witness): unfence once it is in sync again. */
    private boolean fencedPeer;
    /**
     * The peer was lost without a goodbye and not fenced since: under resource-and-stonith a
     * promotion of this node must fence it first, as the Primary would.
     */
    private boolean peerUnfenced;
    /** The running fence-peer handler was started for a promotion, not for a Primary's hold. */
    private boolean fencingForPromotion;
    /** resume-io waits for the witness to record the operator's decision. */
    private boolean resumingIo;
    /** The generation this node held in sync with its peer until the last loss, or 0. */
    private long inSyncGeneration;

    Failover(CoreContext ctx) {
        this.ctx = ctx;
        this.policy = ctx.config.failover();
    }

    // ---------------------------------------------------------------- goodbyes

    /** A new connection: goodbyes belong to one connection. */
    void onConnected() {
        inSyncGeneration = 0;
        goodbyeSent = false;
        peerGoodbye = false;
        lastPeerRole = null;
        peerUnfenced = false;
    }

    /** The STATE flags this node sends: its goodbye, and whether it sees the peer as Primary. */
    int stateFlags() {
        return (goodbyeSent ? PeerState.GOODBYE : 0) | (ctx.state.peerRole == Role.PRIMARY ? PeerState.PRIMARY_SEEN : 0);
    }

    void onPeerState(PeerState message) {
        boolean goodbye = message.has(PeerState.GOODBYE) && message.role() == Role.SECONDARY;
        if (goodbye && ctx.state.role == Role.PRIMARY && !message.has(PeerState.PRIMARY_SEEN)) {
            // Said before the peer saw this node's promotion, which voided it (onPromoted); only a
            // goodbye said to this node as Primary (an orderly down) counts.
            goodbye = false;
        }
        if (message.role() == Role.PRIMARY && lastPeerRole != Role.PRIMARY && goodbyeSent
                && ctx.state.role == Role.SECONDARY) {
            // The peer was promoted while connected, and a Primary holds no goodbye from before
            // its promotion: our demotion's promise ends here, and losing this Primary without a
            // goodbye of its own is an ordinary loss under the fencing policy. Without this, a
            // switchover left this node unpromotable (Consistent) after the new Primary died.
            goodbyeSent = false;
            ctx.log("info", ctx.state.peerName + " is Primary now: this node's goodbye is void");
        }
        lastPeerRole = message.role();
        if (goodbye && !peerGoodbye) {
            // The peer hands the right to write alone to us: our own goodbye, if any, is void.
            goodbyeSent = false;
            ctx.log("info", ctx.state.peerName + " said goodbye: it will not write without this node");
        }
        peerGoodbye = goodbye;
        if (message.has(PeerState.PRIMARY_SEEN)) {
            ctx.roles.onPromotionSeen();
        }
    }

    void onPromoted() {
        // A promotion the peer has not seen yet may still be undone, and the peer still holds
        // our goodbye meanwhile: the goodbye stands until the peer sees us as Primary.
        if (!ctx.roles.confirming()) {
            goodbyeSent = false;
        }
        // The peer's goodbye from before this promotion no longer lets this node write alone:
        // the peer takes it back once it sees the promotion (onPeerState), and dropping it here
        // first means a loss in between finds this node fencing, never both nodes free.
        peerGoodbye = false;
        diskNote = null;
        diskNoteNanos = 0;
        mayLoseWrites = policy.fencing() == FailoverPolicy.Fencing.DONT_CARE && !ctx.state.connected();
    }

    /** The peer saw this node's promotion: its goodbye is void. */
    void onPromotionConfirmed() {
        goodbyeSent = false;
    }

    /** Demoted: while connected, the demotion is our goodbye. */
    void onDemoted() {
        goodbyeSent = ctx.state.connected();
        hold = null;
        mayLoseWrites = false;
    }

    /**
     * An orderly stop: say goodbye now. A Secondary whose peer is Primary outdates itself as
     * well, because the Primary goes on without it.
     */
    void sayGoodbye() {
        goodbyeSent = true;
        if (ctx.state.peerRole == Role.PRIMARY && ctx.state.disk == DiskState.UP_TO_DATE) {
            outdate("said goodbye to " + ctx.state.peerName + ", which stays Primary");
        }
    }

    // ---------------------------------------------------------------- losing the peer

    /**
     * The connection ended. Called after the Primary started its new generation and before its
     * unacknowledged writes are looked at, with what this node knew of the peer at that moment.
     *
     * @param previous the generation before the loss (the one shared with the peer)
     */
    void onPeerLost(String cause, Role peerRole, DiskState peerDisk, long previous, boolean inSync) {
        inSyncGeneration = inSync ? previous : 0;
        String peer = ctx.state.peerName == null ? "the peer" : ctx.state.peerName;
        boolean goodbye = peerGoodbye;
        boolean saidGoodbye = goodbyeSent;
        goodbyeSent = false;
        peerGoodbye = false;
        peerUnfenced = !goodbye;
        if (ctx.state.role == Role.PRIMARY && ctx.servesThroughPeer()) {
            // Diskless, or resyncing an attached disk: this Primary holds no current copy and
            // cannot write alone, so it neither fences the peer (which holds the only one) nor
            // asks to go on; its requests fail until the peer is back.
            note("lost " + peer + " (" + cause + "), which holds the only current copy: I/O fails until it is back");
            ctx.log("warn", "lost " + peer + " (" + cause + ") while serving through it: reads and writes fail until"
                    + " it is back");
        } else if (ctx.state.role == Role.PRIMARY) {
            primaryLost(peer, cause, goodbye, previous);
        } else {
            secondaryLost(peer, cause, goodbye, saidGoodbye, peerRole, peerDisk);
        }
    }

    private void secondaryLost(String peer, String cause, boolean goodbye, boolean saidGoodbye, Role peerRole,
                               DiskState peerDisk) {
        if (ctx.state.disk != DiskState.UP_TO_DATE) {
            return;
        }
        if (saidGoodbye && policy.fencing() != FailoverPolicy.Fencing.DONT_CARE) {
            // We promised not to write without the peer, and it may be writing alone on the
            // strength of that promise: this copy may fall behind, whatever the policy. A goodbye
            // of the peer's that we still hold is older than ours (a newer one would have
            // voided ours), so it does not count.
            ctx.state.disk = DiskState.CONSISTENT;
            note("said goodbye to " + peer + ", then lost it (" + cause + ")");
            ctx.log("warn", "disk UpToDate -> Consistent: this node said goodbye to " + peer
                    + ", which may write alone now");
            return;
        }
        if (goodbye) {
            note(peer + " said goodbye");
            return;
        }
        boolean keeps = policy.fencing() != FailoverPolicy.Fencing.OUTDATE && !policy.witness();
        if (keeps) {
            note("lost " + peer + " (" + cause + "); fencing " + label(policy.fencing())
                    + ": the disk stays UpToDate");
            return;
        }
        // Only a peer whose disk failed or is gone can never write alone. One that looked
        // Consistent or Inconsistent may have become UpToDate a moment ago (a handshake or a
        // resync that ended), with its STATE still on the wire.
        boolean peerCouldWrite = peerRole == Role.PRIMARY || peerDisk != DiskState.FAILED
                && peerDisk != DiskState.DISKLESS;
        if (!peerCouldWrite) {
            note("lost " + peer + " (" + cause + "), whose disk was " + peerDisk.displayName()
                    + ": this copy is the newest");
            return;
        }
        ctx.state.disk = DiskState.CONSISTENT;
        note("lost " + peer + " (" + cause + ") without a goodbye");
        ctx.log("warn", "disk UpToDate -> Consistent: lost " + peer + " (" + cause
                + ") without a goodbye; it may go on writing alone, so this node is promoted only with "
                + (policy.witness() ? "the witness's agreement or " : "") + "--force");
    }

    private void primaryLost(String peer, String cause, boolean goodbye, long previous) {
        if (policy.witness()) {
            holdWrites(HoldKind.WITNESS, "lost " + peer + " (" + cause + "); asking the witness to record it as outdated");
            ctx.witness.askToWriteAlone(previous);
            return;
        }
        if (goodbye) {
            ctx.log("info", "lost " + peer + " after its goodbye: writing alone");
            return;
        }
        switch (policy.fencing()) {
            case DONT_CARE:
                mayLoseWrites = true;
                ctx.log("warn", "lost " + peer + " (" + cause + "); fencing dont-care: writing alone, and a failover to "
                        + peer + " would lose these writes");
                return;
            case RESOURCE_AND_STONITH:
                holdWrites(HoldKind.FENCE_PEER, "lost " + peer + " (" + cause + "); waiting for the fence-peer handler");
                fenceRun++;
                fenceRunning = true;
                ctx.fencePeer(fenceRun);
                return;
            default:
                ctx.log("info", "lost " + peer + " (" + cause + "); fencing outdate: " + peer
                        + " outdates itself, writing alone");
                ctx.hook(Hook.FENCE_PEER);
        }
    }

    private void holdWrites(HoldKind kind, String reason) {
        hold = new Hold(kind, reason, ctx.nowNanos);
        ctx.log("warn", "writes held: " + reason);
    }

    /** The hold ends: writes go on alone (or were mirrored meanwhile). */
    void release(String why) {
        if (hold == null) {
            return;
        }
        ctx.log("warn", "writes resume: " + why + " (held " + (ctx.nowNanos - hold.sinceNanos()) / 1_000_000
                + " ms: " + hold.reason() + ")");
        hold = null;
        fenceRunning = false;
        ctx.writePath.onAloneAllowed();
    }

    /** Whether a write the peer does not have may be acknowledged now. */
    boolean acksAlone() {
        return ctx.state.role == Role.PRIMARY && hold == null;
    }

    /** Whether a write the peer does not have must fail now instead of waiting. */
    boolean failsAlone() {
        if (ctx.state.role != Role.PRIMARY) {
            return true;
        }
        return hold != null && hold.kind() == HoldKind.WITNESS && !ctx.witness.reachable()
                && policy.onNoQuorum() == FailoverPolicy.OnNoQuorum.IO_ERROR;
    }

    boolean holding() {
        return hold != null;
    }

    /** Whether this node held {@code generation} in sync with its peer until it lost it. */
    boolean heldInSync(long generation) {
        return generation != 0 && generation == inSyncGeneration;
    }

    /** Once per event: the peer in sync again ends a hold, and unfences it. */
    void afterEvent() {
        boolean inSync = ctx.state.connected() && ctx.state.replication == ReplicationState.ESTABLISHED
                && ctx.state.peerDisk == DiskState.UP_TO_DATE;
        if (!inSync) {
            return;
        }
        if (hold != null) {
            release(ctx.state.peerName + " is in sync again");
        }
        mayLoseWrites = false;
        // In sync again: why the disk was Consistent or Outdated no longer applies.
        diskNote = null;
        diskNoteNanos = 0;
        if (fencedPeer) {
            fencedPeer = false;
            ctx.meta.setFlag(SuperblockFlag.PEER_OUTDATED, false);
            ctx.hook(Hook.UNFENCE_PEER);
        }
    }

    // ---------------------------------------------------------------- fence-peer and the witness

    /**
     * Under resource-and-stonith a Secondary that lost its peer without a goodbye fences it
     * before it is promoted, as DRBD does: a peer that is still Primary answers 6 and this node
     * stays Secondary (and Outdated), so two nodes never both write alone.
     */
    boolean promotionNeedsFencing() {
        return policy.fencing() == FailoverPolicy.Fencing.RESOURCE_AND_STONITH && peerUnfenced
                && !ctx.state.connected();
    }

    void fenceForPromotion() {
        fencingForPromotion = true;
        fenceRun++;
        ctx.log("info", "fencing " + ctx.peerLabel() + " before promotion (resource-and-stonith)");
        ctx.fencePeer(fenceRun);
    }

    /**
     * The fence-peer handler of run {@code run} ended (resource-and-stonith). DRBD's exit codes
     * apply. The result of a run that a newer one replaced speaks of a peer that has since come
     * back and gone again: it decides nothing.
     */
    void onFenceResult(long run, int exitCode, String output) {
        if (run != fenceRun) {
            ctx.log("info", "fence-peer run " + run + " exited " + exitCode + " after run " + fenceRun
                    + " replaced it; ignored");
            return;
        }
        if (fencingForPromotion) {
            fencingForPromotion = false;
            String meaning = fenceMeaning(exitCode);
            ctx.log("info", "fence-peer for promotion exited " + exitCode + " (" + meaning + ")");
            boolean fenced = exitCode == 3 || exitCode == 4 || exitCode == 7;
            if (fenced) {
                peerUnfenced = false;
                fencedPeer = true;
                ctx.meta.setFlag(SuperblockFlag.PEER_OUTDATED, true);
            } else if (exitCode == 6 && ctx.state.role == Role.SECONDARY && ctx.state.disk == DiskState.UP_TO_DATE) {
                outdate("fence-peer says " + ctx.peerLabel() + " is Primary");
            }
            ctx.roles.onPromotionFenced(fenced, "fence-peer exited " + exitCode + " (" + meaning + ")");
            return;
        }
        if (hold == null || hold.kind() != HoldKind.FENCE_PEER || !fenceRunning) {
            ctx.log("info", "fence-peer exited " + exitCode + " after the hold ended; ignored");
            return;
        }
        fenceRunning = false;
        String meaning = fenceMeaning(exitCode);
        ctx.log(exitCode == 4 || exitCode == 7 || exitCode == 3 ? "info" : "warn", "fence-peer exited " + exitCode
                + " (" + meaning + ")" + (output == null || output.isBlank() ? "" : ": " + output.strip()));
        if (exitCode == 3 || exitCode == 4 || exitCode == 7) {
            fencedPeer = true;
            ctx.meta.setFlag(SuperblockFlag.PEER_OUTDATED, true);
            release("fence-peer exited " + exitCode + " (" + meaning + ")");
            return;
        }
        hold = new Hold(HoldKind.FENCE_PEER, "fence-peer exited " + exitCode + " (" + meaning + "); writes stay held:"
                + " run replctl resume-io once the peer is known to be down or outdated", hold.sinceNanos());
    }

    private static String fenceMeaning(int exitCode) {
        switch (exitCode) {
            case 3: return "peer is Inconsistent";
            case 4: return "peer outdated";
            case 5: return "peer unreachable";
            case 6: return "peer is Primary";
            case 7: return "peer fenced by STONITH";
            default: return "not a fence-peer result";
        }
    }

    /** The witness answered our request to write alone. */
    void onWriteAloneVerdict(WitnessVerdict verdict) {
        if (hold == null || hold.kind() != HoldKind.WITNESS) {
            return;
        }
        switch (verdict.outcome()) {
            case GRANTED:
                fencedPeer = true;
                release("the witness recorded " + ctx.peerLabel() + " as outdated");
                return;
            case DEPOSED:
                if (ctx.state.connected()) {
                    // The peer came back meanwhile: the handshake, not the witness's older view,
                    // decides who is newer, and the hold ends once the peer is in sync.
                    ctx.log("info", "the witness's deposition came after " + ctx.peerLabel() + " reconnected; ignored");
                    return;
                }
                depose("the witness gave " + ctx.peerLabel() + " the newest generation: " + verdict.detail());
                return;
            default:
                hold = new Hold(HoldKind.WITNESS, "the witness did not agree (" + verdict.outcome() + ": "
                        + verdict.detail() + "); asking again", hold.sinceNanos());
        }
    }

    /**
     * The witness says the other node holds the newest data: this node's own changes since the
     * common generation were never acknowledged. It demotes, fails what it held, and becomes an
     * Outdated copy that resyncs from the peer even across a split brain.
     */
    void depose(String why) {
        ctx.log("error", "deposed: " + why);
        ctx.meta.update(s -> s.with(SuperblockFlag.DEPOSED, true).with(SuperblockFlag.WAS_UP_TO_DATE, false));
        hold = null;
        if (ctx.state.role == Role.PRIMARY) {
            ctx.roles.demoteDeposed();
        }
        ctx.state.disk = DiskState.OUTDATED;
        note("deposed: " + why);
    }

    // ---------------------------------------------------------------- operator commands

    /**
     * {@code resume-io}: the operator vouches that the peer cannot be promoted. With a witness
     * that is not enough: the witness would still promote the peer, so it must record the
     * peer as outdated first (a FORCED notice), and the command waits for that.
     */
    CommandResult resumeIo(boolean force) {
        if (ctx.state.role != Role.PRIMARY || hold == null) {
            return CommandResult.refused("no writes are held", "nothing to resume");
        }
        if (policy.witness()) {
            if (!ctx.witness.reachable() && force) {
                // The operator says the witness is gone for good (or will hear it in time): the
                // notice waits for the witness, and the writes go on now.
                ctx.witness.tellForced(ctx.witness.lastSharedGeneration());
                release("replctl resume-io --force by the operator, without the witness");
                return CommandResult.ok();
            }
            if (!ctx.witness.reachable()) {
                return CommandResult.refused("the witness is not reachable, and it would still promote "
                        + ctx.peerLabel() + ", which lacks the writes this node would acknowledge alone",
                        "bring the witness back (resume-io then records " + ctx.peerLabel()
                                + " as outdated there), or let " + ctx.peerLabel() + " reconnect; if the witness"
                                + " is gone for good, resume-io --force (if it comes back before it hears of it,"
                                + " it may still promote " + ctx.peerLabel() + ")");
            }
            resumingIo = true;
            ctx.witness.tellResumed(ctx.witness.lastSharedGeneration());
            return CommandResult.pending();
        }
        release("replctl resume-io by the operator");
        return CommandResult.ok();
    }

    /** The witness recorded the operator's resume-io (or could not). */
    void onResumeVerdict(WitnessVerdict verdict, String failure) {
        if (!resumingIo) {
            return;
        }
        resumingIo = false;
        if (verdict != null && verdict.granted()) {
            fencedPeer = true;
            release("replctl resume-io by the operator; the witness recorded " + ctx.peerLabel() + " as outdated");
            ctx.actions.commandCompleted(CommandResult.ok());
            return;
        }
        if (verdict != null && verdict.outcome() == WitnessVerdict.Outcome.DEPOSED && !ctx.state.connected()
                && hold != null) {
            // The peer was promoted through the witness: what this node holds was never
            // acknowledged, and it is no longer the Primary of the newest data.
            ctx.actions.commandCompleted(CommandResult.refused("the witness refused: " + verdict.detail(),
                    "this node was deposed; it resyncs from " + ctx.peerLabel() + " when they reconnect"));
            depose("the witness gave " + ctx.peerLabel() + " the newest generation: " + verdict.detail());
            return;
        }
        ctx.actions.commandCompleted(CommandResult.refused("the witness did not record it: "
                + (verdict == null ? failure : verdict.outcome() + " (" + verdict.detail() + ")"),
                "writes stay held; retry once the witness answers"));
    }

    /** {@code outdate}: as a remote fence-peer handler asks. */
    CommandResult outdateCommand() {
        if (ctx.state.role == Role.PRIMARY) {
            return CommandResult.refused("a Primary cannot be outdated", "demote it first (it would answer a fence-peer"
                    + " handler with exit 6)");
        }
        if (ctx.state.connected()) {
            return CommandResult.refused("connected to " + ctx.state.peerName + ", which sees this disk as it is",
                    "a fence-peer handler outdates a peer it cannot reach; disconnect first");
        }
        if (ctx.state.disk == DiskState.OUTDATED || ctx.state.disk == DiskState.INCONSISTENT
                || ctx.state.disk == DiskState.FAILED || ctx.state.disk == DiskState.DISKLESS) {
            return CommandResult.ok();
        }
        outdate("outdated by replctl outdate");
        return CommandResult.ok();
    }

    private void outdate(String why) {
        ctx.meta.setFlag(SuperblockFlag.WAS_UP_TO_DATE, false);
        ctx.state.disk = DiskState.OUTDATED;
        note(why);
        ctx.log("warn", "disk -> Outdated: " + why);
    }

    // ---------------------------------------------------------------- status

    void note(String text) {
        diskNote = text;
        diskNoteNanos = ctx.nowNanos;
    }

    /** At start, why a consistent disk is only Consistent or Outdated. */
    void noteAtStart(DiskState disk) {
        if (disk == DiskState.CONSISTENT) {
            note("started without its peer: the peer may have written since");
        } else if (disk == DiskState.OUTDATED) {
            note(ctx.meta.has(SuperblockFlag.DEPOSED) ? "deposed by the witness before a restart"
                    : "outdated before a restart");
        }
    }

    FailoverStatus status() {
        // A note explains a disk that is Consistent or Outdated, or UpToDate while apart (after a
        // goodbye); a Failed or Diskless disk by what failed, or who detached it.
        DiskState disk = ctx.state.disk;
        boolean explains = disk == DiskState.CONSISTENT || disk == DiskState.OUTDATED
                || disk == DiskState.UP_TO_DATE && !ctx.state.connected();
        boolean failed = (disk == DiskState.FAILED || disk == DiskState.DISKLESS) && ctx.state.diskFailure != null;
        String noteNow = failed ? ctx.state.diskFailure : explains ? diskNote : null;
        long noteNanos = failed ? ctx.state.diskFailureNanos : noteNow == null ? 0 : diskNoteNanos;
        String held = hold == null ? null : hold.reason();
        long heldSince = hold == null ? 0 : hold.sinceNanos();
        if (held == null && ctx.state.role == Role.PRIMARY && ctx.witness.loneCopyPending()) {
            held = "the peer's disk is gone: writes wait until the witness records this copy as the only current one";
            heldSince = ctx.witness.loneCopySinceNanos();
        } else if (held == null && ctx.state.role == Role.PRIMARY && ctx.state.disk == DiskState.DISKLESS
                && ctx.state.awaitingPeerGeneration) {
            held = "Diskless: writes wait until " + ctx.peerLabel()
                    + " says the witness records its copy as the only current one";
            heldSince = ctx.state.diskFailureNanos;
        }
        return new FailoverStatus(policy.fencing(), noteNow, noteNanos, held, heldSince,
                mayLoseWrites && ctx.state.role == Role.PRIMARY, ctx.witness.view(),
                ctx.roles.promoting() || ctx.roles.confirming());
    }

    static String label(FailoverPolicy.Fencing fencing) {
        return fencing.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
