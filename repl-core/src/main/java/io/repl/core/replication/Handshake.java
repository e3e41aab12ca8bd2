package io.repl.core.replication;

import io.repl.core.metadata.SuperblockFlag;
import io.repl.core.uuid.Cleanup;
import io.repl.core.uuid.DecisionRule;
import io.repl.core.uuid.DecisionTable;
import io.repl.core.uuid.GenerationUuids;
import io.repl.core.uuid.HandshakeView;
import io.repl.core.uuid.SyncDecision;
import io.repl.core.uuid.SyncGeneration;
import io.repl.core.uuid.Verdict;
import io.repl.protocol.BitmapChunk;
import io.repl.protocol.DeviceSizes;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.DiskState;
import io.repl.protocol.PeerState;
import io.repl.protocol.Role;

/**
 * The state exchange at the start of every connection (and on renegotiation within one): both
 * nodes send SIZES, UUIDS and STATE, both run {@link DecisionTable} on the two views and reach
 * mirrored verdicts without another round trip, then exchange bitmaps and start the resync.
 *
 * <p>A renegotiation (after {@code primary --force} or {@code invalidate} on a connected node)
 * starts when a node sends SIZES again; the peer answers with its own three messages. A STATE
 * counts for the handshake only after the peer's SIZES and UUIDS, so an older STATE still on
 * the wire is taken as a plain update.
 */
final class Handshake {
    private final CoreContext ctx;
    private final BitmapTransfer bitmaps;
    private boolean active;
    private DeviceSizes peerSizes;
    private io.repl.protocol.GenerationUuids peerUuids;
    private SyncDecision pending;
    /** What this node sent at {@link #begin}: the after-split-brain policies decide from it, as the peer does. */
    private io.repl.protocol.GenerationUuids ourUuids;
    private PeerState ourState;
    /** The after-split-brain policies' outcome at this handshake, or null where there was no split brain to weigh. */
    private SplitBrainRecovery.Outcome recovery;
    /** The peer's generations as the decision saw them (corrected if it missed a resync's end). */
    private GenerationUuids peerGenerations;
    private long startedNanos;
    /** The identifiers we sent in this exchange (the peer decides from these). */
    private GenerationUuids sentUuids;
    /** The identifier the resync about to start runs under (0: the identifiers stay as they are). */
    private long syncUuid;

    Handshake(CoreContext ctx) {
        this.ctx = ctx;
        this.bitmaps = new BitmapTransfer(ctx);
    }

    boolean active() {
        return active;
    }

    long startedNanos() {
        return startedNanos;
    }

    void reset() {
        active = false;
        peerSizes = null;
        peerUuids = null;
        pending = null;
        syncUuid = 0;
        bitmaps.reset();
    }

    /**
     * Sends our three messages and waits for the peer's. While our last three are still
     * unanswered, the connection starts again instead: the peer would take both sets as two
     * negotiations, while the set it has in flight would be taken here as the answer to the new
     * one, and from then on each node would take the other's answers for new negotiations and
     * answer them, for ever. The new connection's handshake carries what changed.
     */
    void begin() {
        if (active && peerSizes == null && ctx.state.connected()) {
            ctx.close(DisconnectReason.LOCAL_ERROR, "the state changed while a handshake waited for "
                    + ctx.peerLabel() + "; connecting again", false);
            return;
        }
        reset();
        active = true;
        startedNanos = ctx.nowNanos;
        ctx.state.replication = ReplicationState.OFF;
        ctx.send(new DeviceSizes(ctx.meta.dataBytes(), ctx.config.requestBytesMax(), ByteRange.BLOCK_BYTES,
                ctx.resize.capacityBytes(), 0));
        ourUuids = UuidMessages.toMessage(ctx.meta);
        sentUuids = UuidMessages.fromMessage(ourUuids);
        ctx.send(ourUuids);
        PeerState ours = stateMessage();
        ctx.send(ours);
        ctx.lastSentState = ours;
        ourState = ours;
    }

    PeerState stateMessage() {
        return new PeerState(ctx.state.role, ctx.state.disk, stateFlags());
    }

    /**
     * Whether {@link #stateMessage} would differ from {@code sent} (null: nothing sent yet).
     * Asked after every event, so it compares the fields instead of building a message.
     */
    boolean stateDiffersFrom(PeerState sent) {
        return sent == null || sent.role() != ctx.state.role || sent.disk() != ctx.state.disk
                || sent.flags() != stateFlags();
    }

    private int stateFlags() {
        return (ctx.state.discardMyData ? PeerState.DISCARD_MY_DATA : 0)
                | (ctx.state.invalidatePeer ? PeerState.INVALIDATE_PEER : 0)
                | (ctx.state.syncPausedLocally ? PeerState.SYNC_PAUSED : 0) | ctx.failover.stateFlags()
                | ctx.aheadBehind.stateFlags();
    }

    void onSizes(DeviceSizes sizes) {
        if (sizes.resizeStep()) {
            ctx.resize.onSizes(sizes);
            return;
        }
        if (!active || peerSizes != null) {
            begin();
        }
        peerSizes = sizes;
    }

    void onUuids(io.repl.protocol.GenerationUuids uuids) {
        if (!active) {
            ctx.roles.onPeerGeneration(uuids);
            return;
        }
        if (peerSizes == null || peerUuids != null) {
            ctx.protocolError("UUIDS out of order in the handshake");
            return;
        }
        peerUuids = uuids;
    }

    /** Returns true if the STATE belonged to the handshake. */
    boolean onState(PeerState state) {
        if (!active || peerUuids == null || pending != null) {
            return false;
        }
        decide(state);
        return true;
    }

    private void decide(PeerState state) {
        boolean grown = false;
        if (peerSizes.deviceBytes() != ctx.meta.dataBytes()) {
            grown = ctx.resize.growOnConnect(peerSizes);
            if (!grown) {
                refuse(DisconnectReason.UNRELATED_DATA, "device sizes differ: ours " + ctx.meta.dataBytes()
                        + " bytes, the peer's " + peerSizes.deviceBytes() + " bytes, and the smaller disk cannot grow"
                        + " to the larger size; grow its backing device (or give both the same size) and connect"
                        + " again");
                return;
            }
        }
        if (ctx.state.peerNodeId == ctx.meta.nodeId()) {
            refuse(DisconnectReason.WRONG_PEER, "the peer has our node id " + ctx.meta.nodeId());
            return;
        }
        if (!ctx.state.hasDisk() || !hasDisk(state.disk())) {
            withoutDisk(state);
            return;
        }
        HandshakeView self = new HandshakeView(ctx.meta.uuids(), ctx.meta.has(SuperblockFlag.CRASHED_PRIMARY),
                ctx.meta.nodeId());
        HandshakeView peer = new HandshakeView(UuidMessages.fromMessage(peerUuids),
                peerUuids.has(io.repl.protocol.GenerationUuids.CRASHED_PRIMARY), ctx.state.peerNodeId);
        Verdict verdict = DecisionTable.decide(self, peer);
        cleanUp(verdict, self.uuids(), peer.uuids());
        SyncDecision decision = adjust(verdict, state);
        if (grown && decision == SyncDecision.IN_SYNC) {
            // The area one side just grew by was never synced: a resync of the bits both mark,
            // from the Primary, or else from the side that was already larger.
            boolean source = ctx.state.role == Role.PRIMARY
                    || state.role() != Role.PRIMARY && ctx.resize.peerGrewOnConnect();
            decision = source ? SyncDecision.BITMAP_SYNC_SOURCE : SyncDecision.BITMAP_SYNC_TARGET;
        }
        if (decision == SyncDecision.IN_SYNC && (ourUuids.outOfSyncBlocks() > 0 || peerUuids.outOfSyncBlocks() > 0)) {
            // Same generation, but blocks are marked (a write that failed here under pass-on, a
            // verify's findings, a resync whose end one side missed): resync them by bitmap, from
            // the Primary, or between Secondaries from the lower node id. Both decide from the
            // counts and roles as sent, so they agree.
            boolean source = ourState.role() == Role.PRIMARY
                    || state.role() != Role.PRIMARY && ctx.meta.nodeId() < ctx.state.peerNodeId;
            ctx.log("info", "same generation with " + ourUuids.outOfSyncBlocks() + " blocks marked here and "
                    + peerUuids.outOfSyncBlocks() + " on " + ctx.peerLabel() + ": a bitmap resync "
                    + (source ? "from" : "to") + " this node");
            decision = source ? SyncDecision.BITMAP_SYNC_SOURCE : SyncDecision.BITMAP_SYNC_TARGET;
        }
        boolean discarded = ctx.state.discardMyData;
        ctx.state.discardMyData = false;
        ctx.state.invalidatePeer = false;
        ctx.log("info", "handshake: " + verdict + " -> " + decision + (discarded ? " (discard-my-data)" : ""));
        if (decision != SyncDecision.SPLIT_BRAIN) {
            reportRecovery(verdict);
        }
        if (decision == SyncDecision.IN_SYNC && verdict.rule() == DecisionRule.CURRENT_EQUAL
                && ctx.meta.uuids().bitmap() != 0) {
            // Same generation, in sync: a bitmap identifier here names a resync that never ran
            // (it failed before the target took it). Kept, it would make this node's next outage
            // look like a different lineage and cost a full sync. Its bits stay for the next resync.
            GenerationUuids mine = ctx.meta.uuids();
            ctx.log("info", "in sync at generation " + GenerationUuids.hex(mine.current())
                    + ": the bitmap identifier of a resync that did not run is dropped");
            ctx.meta.update(u -> u.withUuids(GenerationUuids.of(mine.current(), 0, mine.historyCopy())));
        }
        switch (decision) {
            case NO_DATA:
            case IN_SYNC:
                established(state);
                break;
            case SPLIT_BRAIN:
                ctx.hook(Hook.SPLIT_BRAIN, "REPL_RULE", verdict.rule().label(), "REPL_POLICY",
                        recovery == null ? "disconnect" : recovery.policy());
                refuse(DisconnectReason.SPLIT_BRAIN, "split brain (" + verdict.rule().label()
                        + "): both nodes wrote independently; nothing is merged. Choose the node whose"
                        + " changes to drop and run connect --discard-my-data on it");
                break;
            case UNRELATED_DATA:
                refuse(DisconnectReason.UNRELATED_DATA, "the copies share no generation ("
                        + verdict.rule().label() + "): different volumes? Refusing to connect");
                break;
            default:
                startBitmapExchange(decision, state);
                break;
        }
    }

    /**
     * Records the correction the verdict was decided on: a source that missed the end of its
     * resync drops the stale bitmap identifier (METADATA.md, decision table, rules 0a and 0b). The
     * peer's corrected identifiers are what a resync from it ends with.
     */
    private void cleanUp(Verdict verdict, GenerationUuids mine, GenerationUuids theirs) {
        peerGenerations = theirs;
        if (verdict.cleanup() == Cleanup.PEER_MISSED_RESYNC_END) {
            peerGenerations = DecisionTable.afterMissedResyncEnd(theirs, mine);
            ctx.log("info", ctx.peerLabel() + " missed the end of the resync this node finished as its target: its"
                    + " generations count as " + peerGenerations);
        } else if (verdict.cleanup() == Cleanup.SELF_MISSED_RESYNC_END) {
            GenerationUuids corrected = DecisionTable.afterMissedResyncEnd(mine, theirs);
            ctx.log("warn", "the last resync this node sourced ended without this node seeing it: generations "
                    + mine + " -> " + corrected + "; the bitmap counts from " + GenerationUuids.hex(corrected.bitmap()));
            ctx.meta.update(s -> s.withUuids(corrected));
        }
    }

    /**
     * A split brain neither operator resolved: the after-split-brain policies may name a victim,
     * which becomes SyncTarget (by bitmap when both split from the same generation). Both nodes
     * decide from the STATE and UUIDS each sent, so they name the same one.
     */
    private SyncDecision afterSplitBrain(Verdict verdict, PeerState state) {
        SplitBrainRecovery.Side self = new SplitBrainRecovery.Side(ourState.role() == Role.PRIMARY,
                ourUuids.outOfSyncBlocks(), ourUuids.has(io.repl.protocol.GenerationUuids.SPLIT_AS_PRIMARY),
                ctx.meta.nodeId(), ourState.disk() == DiskState.INCONSISTENT);
        SplitBrainRecovery.Side peer = new SplitBrainRecovery.Side(state.role() == Role.PRIMARY,
                peerUuids.outOfSyncBlocks(), peerUuids.has(io.repl.protocol.GenerationUuids.SPLIT_AS_PRIMARY),
                ctx.state.peerNodeId, state.disk() == DiskState.INCONSISTENT);
        recovery = SplitBrainRecovery.decide(ctx.config.sync().afterSplitBrain(), self, peer);
        boolean bitmap = verdict.rule() == DecisionRule.SPLIT_BRAIN_COMMON_BITMAP;
        switch (recovery.victim()) {
            case SELF:
                return bitmap ? SyncDecision.BITMAP_SYNC_TARGET : SyncDecision.FULL_SYNC_TARGET;
            case PEER:
                return bitmap ? SyncDecision.BITMAP_SYNC_SOURCE : SyncDecision.FULL_SYNC_SOURCE;
            default:
                return SyncDecision.SPLIT_BRAIN;
        }
    }

    /** An automatic discard is logged with its counts and runs the split-brain handler, on both nodes. */
    private void reportRecovery(Verdict verdict) {
        if (recovery == null || recovery.victim() == SplitBrainRecovery.Victim.NONE) {
            return;
        }
        boolean self = recovery.victim() == SplitBrainRecovery.Victim.SELF;
        ctx.log("warn", "split brain (" + verdict.rule().label() + ") resolved by " + recovery.policy() + ": "
                + recovery.reason() + "; " + ourUuids.outOfSyncBlocks() + " blocks changed here, "
                + peerUuids.outOfSyncBlocks() + " on " + ctx.peerLabel() + "; " + (self ? "this node"
                : ctx.peerLabel()) + " discards its changes and becomes SyncTarget");
        ctx.hook(Hook.SPLIT_BRAIN, "REPL_RULE", verdict.rule().label(), "REPL_POLICY", recovery.policy(),
                "REPL_VICTIM", self ? "local" : "peer",
                "REPL_CHANGED_BLOCKS_LOCAL", Long.toString(ourUuids.outOfSyncBlocks()),
                "REPL_CHANGED_BLOCKS_PEER", Long.toString(peerUuids.outOfSyncBlocks()));
    }

    /**
     * A split brain where exactly one side was deposed by the witness is no split brain: the
     * deposed side never acknowledged a write alone after the other side's grant, so what it
     * holds beyond the common generation was never acknowledged. It becomes the target.
     */
    private SyncDecision resolveDeposed(Verdict verdict) {
        boolean self = ctx.meta.has(SuperblockFlag.DEPOSED);
        boolean peer = peerUuids.has(io.repl.protocol.GenerationUuids.DEPOSED);
        if (verdict.decision() != SyncDecision.SPLIT_BRAIN || self == peer) {
            return verdict.decision();
        }
        boolean bitmap = verdict.rule() == DecisionRule.SPLIT_BRAIN_COMMON_BITMAP;
        ctx.log("warn", "split brain (" + verdict.rule().label() + ") with " + (self ? "this node" : ctx.peerLabel())
                + " deposed by the witness: " + (self ? "this node" : ctx.peerLabel()) + " becomes SyncTarget");
        if (self) {
            return bitmap ? SyncDecision.BITMAP_SYNC_TARGET : SyncDecision.FULL_SYNC_TARGET;
        }
        return bitmap ? SyncDecision.BITMAP_SYNC_SOURCE : SyncDecision.FULL_SYNC_SOURCE;
    }

    /** Applies discard-my-data at a split brain and the disk states the identifiers cannot see. */
    private SyncDecision adjust(Verdict verdict, PeerState state) {
        SyncDecision decision = resolveDeposed(verdict);
        boolean mine = ctx.state.discardMyData;
        boolean theirs = state.has(PeerState.DISCARD_MY_DATA);
        boolean discarding = decision == SyncDecision.SPLIT_BRAIN && mine != theirs;
        recovery = null;
        if (decision == SyncDecision.SPLIT_BRAIN && !mine && !theirs) {
            decision = afterSplitBrain(verdict, state);
            discarding = decision != SyncDecision.SPLIT_BRAIN;
        } else if (discarding) {
            boolean bitmap = verdict.rule() == DecisionRule.SPLIT_BRAIN_COMMON_BITMAP;
            if (mine) {
                decision = bitmap ? SyncDecision.BITMAP_SYNC_TARGET : SyncDecision.FULL_SYNC_TARGET;
            } else {
                decision = bitmap ? SyncDecision.BITMAP_SYNC_SOURCE : SyncDecision.FULL_SYNC_SOURCE;
            }
        }
        boolean selfGood = consistent(ctx.state.disk);
        boolean peerGood = consistent(state.disk());
        boolean source = decision == SyncDecision.BITMAP_SYNC_SOURCE || decision == SyncDecision.FULL_SYNC_SOURCE;
        boolean target = decision == SyncDecision.BITMAP_SYNC_TARGET || decision == SyncDecision.FULL_SYNC_TARGET;
        if (source && !selfGood || target && !peerGood) {
            if (discarding) {
                // The operator chose which changes to keep, but that copy is not consistent:
                // never silently keep the other one instead. Stay apart and say so.
                ctx.log("warn", (recovery != null ? recovery.policy() : "discard-my-data")
                        + " cannot be honoured: the copy to keep (" + (source ? "ours" : "the peer's")
                        + ") is not consistent; if neither copy is, run primary --force on the one to keep"
                        + " (its data is all there is) and connect again");
                recovery = null;
                return SyncDecision.SPLIT_BRAIN;
            }
            // The identifiers say who is newer, but the newer copy is not a consistent image
            // (invalidated, or a resync into it was interrupted): it cannot be a source.
            if (source && peerGood && ctx.state.diskWritable()) {
                return SyncDecision.FULL_SYNC_TARGET;
            }
            if (target && selfGood) {
                return SyncDecision.FULL_SYNC_SOURCE;
            }
            return SyncDecision.NO_DATA;
        }
        if (decision == SyncDecision.IN_SYNC) {
            SyncDecision overwrite = invalidateRemote(state, selfGood, peerGood);
            if (overwrite != null) {
                return overwrite;
            }
        }
        if (decision == SyncDecision.IN_SYNC || decision == SyncDecision.NO_DATA) {
            // Same generation, but one copy may be half written (invalidate, an interrupted full sync).
            if (selfGood && !peerGood && state.disk() != DiskState.DISKLESS && state.disk() != DiskState.FAILED) {
                return SyncDecision.FULL_SYNC_SOURCE;
            }
            if (peerGood && !selfGood && ctx.state.diskWritable()) {
                return SyncDecision.FULL_SYNC_TARGET;
            }
        }
        return decision;
    }

    /**
     * invalidate-remote on exactly one side of an in-sync pair: that side becomes full source,
     * unless its copy is not consistent or the other side is Primary (both sides see the same
     * STATEs and reach the same answer); null when it does not apply.
     */
    private SyncDecision invalidateRemote(PeerState state, boolean selfGood, boolean peerGood) {
        boolean mine = ctx.state.invalidatePeer;
        boolean theirs = state.has(PeerState.INVALIDATE_PEER);
        if (mine == theirs) {
            if (mine) {
                ctx.log("warn", "invalidate-remote ran on both nodes: neither copy is overwritten");
            }
            return null;
        }
        boolean sourceGood = mine ? selfGood : peerGood;
        boolean targetPrimary = mine ? state.role() == Role.PRIMARY : ctx.state.role == Role.PRIMARY;
        if (!sourceGood || targetPrimary) {
            ctx.log("warn", "invalidate-remote not honoured: " + (targetPrimary ? "the copy to overwrite is Primary's"
                    : "the copy to keep is not consistent"));
            return null;
        }
        ctx.log("info", "invalidate-remote: " + (mine ? ctx.peerLabel() + "'s" : "this node's")
                + " copy is resynced in full from " + (mine ? "this node" : ctx.peerLabel()));
        return mine ? SyncDecision.FULL_SYNC_SOURCE : SyncDecision.FULL_SYNC_TARGET;
    }

    private static boolean hasDisk(DiskState disk) {
        return disk != DiskState.DISKLESS && disk != DiskState.FAILED;
    }

    /**
     * One node has no disk: there is nothing to compare or resync (a detached disk comes back
     * only through attach, in full). The pair replicates as it can: a Diskless Primary serves
     * through its peer, a Primary with a Diskless peer writes alone. The generation is not
     * shared: the Diskless node holds none of the data.
     *
     * <p>A consistent copy whose generation is the one a Diskless Primary serves is current: that
     * Primary writes nowhere else, so nothing can be newer. It becomes UpToDate again (it was
     * only Consistent after losing its Primary), and the Primary serves through it again.
     */
    private void withoutDisk(PeerState state) {
        if (ctx.state.role == Role.PRIMARY && state.role() == Role.PRIMARY) {
            // A Diskless Primary's peer promoted while they were apart (under dont-care): the
            // Diskless one would write through a disk another Primary writes too.
            refuse(DisconnectReason.SPLIT_BRAIN, "both nodes are Primary and one is Diskless; demote one, then"
                    + " connect again");
            return;
        }
        active = false;
        ctx.state.replication = ReplicationState.ESTABLISHED;
        GenerationUuids mine = ctx.meta.uuids();
        // The Primary may not have heard of the generation this copy started when it lost its
        // disk (the connection broke before the announcement): it still names the one before.
        boolean missedAnnouncement = mine.current() == ctx.disklessPeerGeneration
                && peerUuids.current() == mine.bitmap() && mine.bitmap() != 0;
        boolean servesDisklessPrimary = ctx.state.hasDisk() && state.role() == Role.PRIMARY
                && state.disk() == DiskState.DISKLESS
                && (peerUuids.current() == mine.current() || missedAnnouncement)
                && ctx.state.disk == DiskState.CONSISTENT;
        String without = ctx.state.hasDisk() ? ctx.peerLabel() + " is " + state.disk().displayName()
                : "this node is " + ctx.state.disk.displayName();
        ctx.log("info", "handshake: " + without + ": no resync"
                + (servesDisklessPrimary ? "; this copy is the one the Diskless Primary serves: UpToDate" : ""));
        if (servesDisklessPrimary) {
            ctx.state.disk = DiskState.UP_TO_DATE;
            ctx.meta.markUpToDate(ctx.meta.uuids());
            if (missedAnnouncement && !ctx.witness.loneCopyPending()) {
                // Our UpToDate first: the Primary takes the announcement only from a current copy.
                ctx.sendStateNow();
                ctx.loneCopyRecorded();
            }
        }
        ctx.writePath.pump();
    }

    private static boolean consistent(DiskState disk) {
        return disk == DiskState.UP_TO_DATE || disk == DiskState.OUTDATED || disk == DiskState.CONSISTENT;
    }

    private void established(PeerState state) {
        active = false;
        ctx.meta.shareGeneration();
        ctx.state.replication = ReplicationState.ESTABLISHED;
        // Same generation on both, nothing to resync: two consistent copies of one generation
        // hold the same data, so both are current, whatever each feared while apart (Consistent
        // after a loss or restart, Outdated by a fence handler or the witness). This is the
        // resync of nothing that makes an Outdated copy UpToDate again.
        boolean sameGeneration = ctx.meta.uuids().current() != 0;
        boolean peerCurrent = consistent(state.disk());
        if (sameGeneration && peerCurrent && consistent(ctx.state.disk) && ctx.state.disk != DiskState.UP_TO_DATE) {
            ctx.state.disk = DiskState.UP_TO_DATE;
            ctx.meta.markUpToDate(ctx.meta.uuids());
        }
        ctx.writePath.pump();
    }

    private void startBitmapExchange(SyncDecision decision, PeerState state) {
        boolean target = decision == SyncDecision.BITMAP_SYNC_TARGET || decision == SyncDecision.FULL_SYNC_TARGET;
        if (ctx.state.role == Role.PRIMARY && state.role() == Role.PRIMARY) {
            // Each wrote as Primary while apart (a Diskless Primary's peer promoted under
            // dont-care, say): neither may take the other's data while both serve writes.
            refuse(DisconnectReason.SPLIT_BRAIN, "both nodes are Primary (" + decision + "); demote one, then"
                    + " connect --discard-my-data on the node whose data to drop");
            return;
        }
        if (target && ctx.state.role == Role.PRIMARY && !ctx.state.attachedWhilePrimary) {
            refuse(DisconnectReason.SPLIT_BRAIN, "this Primary would have to become SyncTarget (" + decision
                    + "); demote it, or connect --discard-my-data on the node whose data to drop");
            return;
        }
        // A Primary whose STATE says Inconsistent attached a disk while serving through us: it
        // holds nothing of its own and becomes our target.
        if (!target && state.role() == Role.PRIMARY && state.disk() != DiskState.INCONSISTENT) {
            refuse(DisconnectReason.SPLIT_BRAIN, "the peer is Primary and would have to become SyncTarget");
            return;
        }
        if (decision == SyncDecision.FULL_SYNC_SOURCE || decision == SyncDecision.FULL_SYNC_TARGET) {
            ctx.meta.bitmap().markAllDirty();
        }
        syncUuid = syncUuid(target, state);
        if (target) {
            // On disk first: from the first resync write on, this copy is not a consistent image.
            ctx.meta.markInconsistent();
            ctx.state.disk = DiskState.INCONSISTENT;
        } else {
            if (syncUuid != 0) {
                // Before our bitmap goes out: the target takes this identifier only once it has
                // our whole bitmap, so it never names a generation we do not hold on disk.
                ctx.meta.update(s -> s.withUuids(SyncGeneration.asSource(s.uuids(), syncUuid)));
                if (ctx.meta.failure() != null) {
                    // Not recorded: no bitmap goes out. The disk fails as this event ends.
                    return;
                }
            }
            // The target may take our generation as soon as it has our bitmap, before we even
            // hear of it: from now on a write of ours while apart needs a new generation.
            ctx.meta.shareGeneration();
        }
        pending = decision;
        bitmaps.send();
        maybeStartResync();
    }

    /**
     * After an online resize both nodes exchange bitmaps on the live connection, as a handshake
     * that decided a bitmap sync would, with the generation they share: the new area (and any
     * other bit) goes from the source to the target.
     */
    void resyncAfterResize(boolean target) {
        reset();
        active = true;
        startedNanos = ctx.nowNanos;
        peerUuids = UuidMessages.toMessage(ctx.meta);
        // The pair is in sync: both sides hold the same identifiers, so each decides from its own
        // as both views, as the peer does (never from those of an earlier handshake).
        GenerationUuids own = UuidMessages.fromMessage(peerUuids);
        sentUuids = own;
        peerGenerations = own;
        startBitmapExchange(target ? SyncDecision.BITMAP_SYNC_TARGET : SyncDecision.BITMAP_SYNC_SOURCE,
                new PeerState(ctx.state.peerRole, ctx.state.peerDisk, 0));
    }

    void onBitmap(BitmapChunk chunk) {
        if (pending == null) {
            ctx.protocolError("BITMAP outside a bitmap exchange");
            return;
        }
        if (bitmaps.onChunk(chunk)) {
            maybeStartResync();
        }
    }

    private void maybeStartResync() {
        if (pending == null || !bitmaps.received()) {
            return;
        }
        // Bits merged from the peer are outside the activity log's protection: persist them.
        ctx.meta.persistBitmap();
        if (ctx.meta.failure() != null) {
            // Not durable: no resync may start on them. A source clears its bits as it sends,
            // trusting the target's to outlive a crash; a target restarting without the peer's
            // bits would never ask for those blocks again. The disk fails as this event ends.
            return;
        }
        boolean target = pending == SyncDecision.BITMAP_SYNC_TARGET || pending == SyncDecision.FULL_SYNC_TARGET;
        active = false;
        pending = null;
        boolean paused = ctx.state.syncPaused();
        if (target) {
            ctx.state.replication = paused ? ReplicationState.PAUSED_SYNC_T : ReplicationState.SYNC_TARGET;
            // The peer's identifiers as the decision saw them, corrected if it missed a resync's end.
            GenerationUuids source = peerGenerations;
            if (syncUuid != 0) {
                // The union is durable: from now on an interruption resumes from what is left.
                long sync = syncUuid;
                ctx.meta.update(s -> s.withUuids(SyncGeneration.asTarget(s.uuids(), sync)));
                source = SyncGeneration.asSource(source, sync);
            }
            ctx.resyncTarget.start(source);
        } else {
            ctx.state.replication = paused ? ReplicationState.PAUSED_SYNC_S : ReplicationState.SYNC_SOURCE;
            if (ctx.state.disk == DiskState.CONSISTENT || ctx.state.disk == DiskState.OUTDATED) {
                // The handshake showed our copy is the newer one: whatever this node feared
                // while apart (a loss, a restart, an outdate), the peer holds nothing newer.
                ctx.state.disk = DiskState.UP_TO_DATE;
                ctx.meta.markCurrentAsSource();
            }
            // The target takes our generation when it finishes, possibly before we hear of it.
            ctx.meta.shareGeneration();
            ctx.resyncSource.start(ctx.state.peerDisk == DiskState.UP_TO_DATE);
            ctx.writePath.pump();
        }
    }

    /**
     * The identifier the resync runs under, so that an interruption resumes it
     * ({@link SyncGeneration}); 0 when the identifiers already relate the two copies that way, or
     * when the target is a Primary resyncing a disk it attached (it keeps its identifiers).
     */
    private long syncUuid(boolean target, PeerState state) {
        GenerationUuids peer = UuidMessages.fromMessage(peerUuids);
        GenerationUuids source = target ? peer : sentUuids;
        GenerationUuids targetUuids = target ? sentUuids : peer;
        boolean primaryTarget = target ? ctx.state.role == Role.PRIMARY : state.role() == Role.PRIMARY;
        if (primaryTarget || SyncGeneration.resumesAsIs(source, targetUuids)) {
            return 0;
        }
        return SyncGeneration.derive(source, targetUuids);
    }

    private void refuse(DisconnectReason reason, String detail) {
        active = false;
        ctx.close(reason, detail, true);
    }

    /** Generations the peer sent outside a handshake, for new-current-uuid --clear-bitmap. */
    static boolean isClearBitmapAnnouncement(io.repl.protocol.GenerationUuids uuids) {
        return uuids.bitmap() == 0 && uuids.has(io.repl.protocol.GenerationUuids.CONSISTENT)
                && uuids.outOfSyncBlocks() == 0;
    }
}
