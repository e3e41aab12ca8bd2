package io.repl.core.replication;

import io.repl.core.metadata.SuperblockFlag;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;

/**
 * Operator commands. Each either changes state or returns a refusal with the reason and the safe
 * next step; none throws for an operator mistake.
 *
 * <p>What {@code primary --force} accepts (the DRBD-like rule): a local disk that is
 * Inconsistent, Outdated or Consistent, when no reachable peer holds UpToDate data and this node
 * is not in the middle of receiving a resync. The node starts a new generation and declares its
 * copy UpToDate; a connected peer then becomes SyncTarget of a full sync. It never accepts a
 * Diskless or Failed disk, and never a second Primary while connected.
 */
final class Roles {
    private final CoreContext ctx;
    /** A promotion waits for the witness's verdict. */
    private boolean promoting;
    /**
     * Promoted while connected; the peer has not yet said it sees this node as Primary. Until it
     * does, the connection may be dead without either side knowing, and the peer may have been
     * promoted alone meanwhile: the command waits, and a loss now undoes the promotion.
     */
    private boolean confirming;

    Roles(CoreContext ctx) {
        this.ctx = ctx;
    }

    /** Whether a promotion waits for the witness or the fence-peer handler. */
    boolean promoting() {
        return promoting;
    }

    /** Whether a promotion made while connected waits for the peer to see it. */
    boolean confirming() {
        return confirming;
    }

    /** The peer's STATE says it sees this node as Primary: a promotion made while connected holds. */
    void onPromotionSeen() {
        if (confirming && ctx.state.role == Role.PRIMARY) {
            confirming = false;
            ctx.failover.onPromotionConfirmed();
            ctx.actions.commandCompleted(CommandResult.ok());
        }
    }

    /**
     * The connection ended before the peer saw the promotion: it may have been promoted alone
     * meanwhile, and this node acknowledged nothing as Primary yet (every write needed the
     * peer), so the promotion is undone.
     */
    boolean onPeerLost() {
        if (!confirming) {
            return false;
        }
        confirming = false;
        ctx.log("warn", "the connection ended before " + ctx.peerLabel() + " saw this node's promotion; back to"
                + " Secondary");
        ctx.state.role = Role.SECONDARY;
        ctx.state.attachedWhilePrimary = false;
        ctx.writePath.clearPrimaryMarkWhenRetired();
        ctx.writePath.onDemoted();
        ctx.hook(Hook.AFTER_DEMOTE);
        ctx.actions.commandCompleted(CommandResult.refused("the connection to " + ctx.peerLabel()
                + " ended before it saw the promotion", "check the peer's state and retry"));
        return true;
    }

    CommandResult execute(Command command) {
        if (command instanceof Command.Primary primary) {
            return promote(primary.force());
        }
        if (command instanceof Command.Secondary secondary) {
            return demote(secondary.force(), secondary.writersOpen());
        }
        if (command instanceof Command.Disconnect) {
            return disconnect();
        }
        if (command instanceof Command.Connect connect) {
            return connect(connect.discardMyData());
        }
        if (command instanceof Command.Invalidate) {
            return invalidate();
        }
        if (command instanceof Command.InvalidateRemote) {
            return invalidateRemote();
        }
        if (command instanceof Command.NewCurrentUuidClearBitmap) {
            return clearBitmap();
        }
        if (command instanceof Command.Verify verify) {
            return ctx.verifySource.start(verify.startOffset());
        }
        if (command instanceof Command.Adjust adjust) {
            ctx.adjust(adjust.sync());
            return CommandResult.ok();
        }
        if (command instanceof Command.PauseSync) {
            return pause(true);
        }
        if (command instanceof Command.ResumeSync) {
            return pause(false);
        }
        if (command instanceof Command.Outdate) {
            return ctx.failover.outdateCommand();
        }
        if (command instanceof Command.ResumeIo resume) {
            return ctx.failover.resumeIo(resume.force());
        }
        if (command instanceof Command.Down) {
            return down();
        }
        if (command instanceof Command.Detach) {
            return ctx.attachment.detach();
        }
        if (command instanceof Command.Attach attach) {
            return ctx.attachment.attach(attach.metadata());
        }
        if (command instanceof Command.Resize resize) {
            return ctx.resize.command(resize);
        }
        throw new IllegalArgumentException("unknown command " + command);
    }

    private CommandResult promote(boolean force) {
        NodeState state = ctx.state;
        if (state.role == Role.PRIMARY) {
            return CommandResult.ok();
        }
        if (promoting || confirming) {
            return CommandResult.refused("a promotion is already waiting for an answer", "wait for it");
        }
        if (state.connected() && state.peerRole == Role.PRIMARY) {
            return CommandResult.refused("the peer " + state.peerName + " is Primary",
                    "demote it first (replctl secondary on " + state.peerName + "), or disconnect");
        }
        if (state.connected() && ctx.handshake.active()) {
            return CommandResult.refused("the connection is still exchanging states", "retry in a moment");
        }
        if (!ctx.peerWrites.idle()) {
            // The old Primary's last writes land first; one failing must not fail a Primary's disk.
            return CommandResult.refused("writes received from the peer are still being applied",
                    "retry in a moment");
        }
        if (!force && !state.connected() && ctx.config.failover().witness()) {
            return promoteThroughWitness();
        }
        if (!force && state.disk == DiskState.UP_TO_DATE && ctx.failover.promotionNeedsFencing()) {
            promoting = true;
            ctx.failover.fenceForPromotion();
            return CommandResult.pending();
        }
        if (state.disk == DiskState.UP_TO_DATE) {
            boolean mirrored = ctx.peerReceivesWrites();
            if (!mirrored && ctx.meta.generationShared()) {
                // Our writes from here on are ours alone: start a generation the peer lacks.
                ctx.meta.newCurrent();
            }
            confirming = mirrored;
            becomePrimary();
            return mirrored ? CommandResult.pending() : CommandResult.ok();
        }
        return forcePromote(force);
    }

    /**
     * With a witness, a node writes alone only with its grant: a promotion while disconnected
     * asks it first, naming the new generation the node will start.
     */
    private CommandResult promoteThroughWitness() {
        NodeState state = ctx.state;
        if (state.disk != DiskState.UP_TO_DATE && state.disk != DiskState.CONSISTENT) {
            return refusalWithoutData();
        }
        long current = ctx.meta.uuids().current();
        long previous;
        long next;
        if (ctx.meta.generationShared()) {
            previous = current;
            next = ctx.meta.proposeNewCurrent();
        } else {
            // Our generation is already ours alone (a grant or a --force made it): the witness
            // confirms it is still ours.
            previous = ctx.meta.uuids().bitmap() != 0 ? ctx.meta.uuids().bitmap() : ctx.meta.uuids().history(0);
            next = current;
        }
        if (current == 0) {
            return CommandResult.noUpToDateData("this copy has no generation the witness could know",
                    "promote with --force to start one");
        }
        CommandResult refused = ctx.witness.askToPromote(previous, next);
        if (refused != null) {
            return refused;
        }
        promoting = true;
        ctx.log("info", "asking the witness to promote this node (generation "
                + io.repl.core.uuid.GenerationUuids.hex(previous) + " -> "
                + io.repl.core.uuid.GenerationUuids.hex(next) + ")");
        return CommandResult.pending();
    }

    /** The witness answered a promotion (or failed to: {@code verdict} null, {@code failure} says why). */
    void onPromoteVerdict(io.repl.protocol.WitnessVerdict verdict, String failure) {
        if (!promoting) {
            return;
        }
        promoting = false;
        String next = "bring the peer back, or use --force if this copy is known to be the newest (writes the"
                + " peer made alone would then be lost in a split brain)";
        if (verdict == null) {
            ctx.actions.commandCompleted(CommandResult.noUpToDateData("the witness did not decide: " + failure, next));
            return;
        }
        if (verdict.outcome() == io.repl.protocol.WitnessVerdict.Outcome.DEPOSED) {
            if (ctx.state.role == Role.SECONDARY && ctx.state.disk != DiskState.INCONSISTENT && !ctx.state.connected()) {
                ctx.meta.setFlag(SuperblockFlag.WAS_UP_TO_DATE, false);
                ctx.state.disk = DiskState.OUTDATED;
                ctx.failover.note("the witness says " + ctx.peerLabel() + " holds newer data");
            }
            ctx.actions.commandCompleted(CommandResult.noUpToDateData("the witness refused: " + ctx.peerLabel()
                    + " holds newer data (" + verdict.detail() + ")", "promote " + ctx.peerLabel()
                    + ", or let this node resync from it"));
            return;
        }
        if (!verdict.granted()) {
            ctx.actions.commandCompleted(CommandResult.noUpToDateData("the witness refused: " + verdict.outcome()
                    + " (" + verdict.detail() + ")", next));
            return;
        }
        // The witness now names this node the only holder of the new generation: take it on
        // disk before anything else, so a retry after a failure here asks for the same one.
        if (verdict.generation() != ctx.meta.uuids().current()) {
            ctx.meta.adoptNewCurrent(verdict.generation());
        }
        NodeState state = ctx.state;
        if (state.role == Role.PRIMARY) {
            ctx.actions.commandCompleted(CommandResult.ok());
            return;
        }
        if (state.disk != DiskState.UP_TO_DATE && state.disk != DiskState.CONSISTENT || !ctx.peerWrites.idle()
                || state.connected()) {
            ctx.actions.commandCompleted(CommandResult.refused("the state changed while the witness decided (now "
                    + state.disk.displayName() + ", " + state.connection.displayName() + ")", "retry"));
            return;
        }
        ctx.meta.markUpToDate(ctx.meta.uuids());
        state.disk = DiskState.UP_TO_DATE;
        becomePrimary();
        ctx.log("info", "promoted with the witness's agreement");
        ctx.actions.commandCompleted(CommandResult.ok());
    }

    /** The fence-peer handler run for a promotion ended; {@code fenced} means the peer cannot write. */
    void onPromotionFenced(boolean fenced, String what) {
        if (!promoting) {
            return;
        }
        promoting = false;
        NodeState state = ctx.state;
        if (!fenced) {
            ctx.actions.commandCompleted(CommandResult.noUpToDateData(what + ": " + ctx.peerLabel()
                    + " may still write alone", "fence it by other means, then promote; or use --force"));
            return;
        }
        if (state.role == Role.PRIMARY) {
            ctx.actions.commandCompleted(CommandResult.ok());
            return;
        }
        if (state.disk != DiskState.UP_TO_DATE || state.connected() || !ctx.peerWrites.idle()) {
            ctx.actions.commandCompleted(CommandResult.refused("the state changed while fencing (now "
                    + state.disk.displayName() + ", " + state.connection.displayName() + ")", "retry"));
            return;
        }
        if (ctx.meta.generationShared()) {
            ctx.meta.newCurrent();
        }
        becomePrimary();
        ctx.actions.commandCompleted(CommandResult.ok());
    }

    private CommandResult refusalWithoutData() {
        NodeState state = ctx.state;
        FailoverStatus f = ctx.failover.status();
        String why = "the local disk is " + state.disk.displayName() + ", not UpToDate"
                + (f.diskNote() == null ? "" : " (" + f.diskNote() + ", " + ago(f.diskNoteNanos()) + ")");
        String next;
        if (state.disk == DiskState.CONSISTENT) {
            next = "this node cannot know whether " + ctx.peerLabel() + " wrote alone after the loss: wait for it to"
                    + " come back, or use --force if it is known to be dead and to have written nothing this copy"
                    + " lacks (its writes since the loss would be lost)"
                    + (ctx.config.failover().witness() ? ""
                            : "; a [witness], or fencing resource-and-stonith with a fence-peer handler, decides this"
                            + " automatically");
        } else {
            next = "wait for the resync (replctl wait-sync), promote the node with UpToDate data, or use"
                    + " --force if this copy is the one to keep";
        }
        return CommandResult.noUpToDateData(why, next);
    }

    /** How long ago {@code stampNanos} was, in words an operator reads at a glance. */
    private String ago(long stampNanos) {
        long seconds = Math.max(0, (ctx.nowNanos - stampNanos) / 1_000_000_000L);
        if (seconds < 120) {
            return seconds + " s ago";
        }
        long minutes = seconds / 60;
        return minutes < 120 ? minutes + " min ago" : minutes / 60 + " h " + minutes % 60 + " min ago";
    }

    private CommandResult forcePromote(boolean force) {
        NodeState state = ctx.state;
        if (!force) {
            return refusalWithoutData();
        }
        boolean acceptable = state.disk == DiskState.INCONSISTENT || state.disk == DiskState.OUTDATED
                || state.disk == DiskState.CONSISTENT;
        if (!acceptable) {
            return CommandResult.noUpToDateData("--force cannot promote a " + state.disk.displayName() + " disk",
                    "attach a working disk");
        }
        if (state.replication.isTarget()) {
            return CommandResult.noUpToDateData("this node is receiving a resync from " + state.peerName,
                    "wait for it to finish (replctl wait-sync)");
        }
        if (state.connected() && state.peerDisk == DiskState.UP_TO_DATE) {
            return CommandResult.noUpToDateData("the peer " + state.peerName + " holds UpToDate data",
                    "promote the peer, or invalidate this node and let it resync");
        }
        long previous = ctx.meta.uuids().current();
        ctx.meta.newCurrent();
        ctx.meta.markUpToDate(ctx.meta.uuids());
        if (ctx.meta.failure() != null) {
            // The new generation was never recorded: nothing changes, and the disk fails as the
            // event ends.
            return CommandResult.refused(ctx.meta.failure().getMessage(),
                    "repair or replace the metadata device, then down and up");
        }
        state.disk = DiskState.UP_TO_DATE;
        ctx.log("warn", "promoted with --force from " + io.repl.core.uuid.GenerationUuids.hex(previous));
        becomePrimary();
        ctx.witness.tellForced(previous);
        if (state.connected()) {
            // The peer must learn our new generation; the handshake makes it a full SyncTarget.
            ctx.handshake.begin();
        }
        return CommandResult.ok();
    }

    private void becomePrimary() {
        // From now on this copy may hold writes acknowledged here alone: it yields no more.
        ctx.meta.setFlag(SuperblockFlag.DEPOSED, false);
        ctx.meta.setFlag(SuperblockFlag.PRIMARY, true);
        ctx.state.role = Role.PRIMARY;
        ctx.failover.onPromoted();
        ctx.hook(Hook.AFTER_PROMOTE);
    }

    private CommandResult demote(boolean force, boolean writersOpen) {
        if (ctx.state.role == Role.SECONDARY) {
            return CommandResult.ok();
        }
        if (writersOpen && !force) {
            return CommandResult.refused("a writer holds the export",
                    "stop the application or unmount, or use --force (its writes then fail)");
        }
        becomeSecondary();
        return CommandResult.ok();
    }

    private void becomeSecondary() {
        ctx.state.role = Role.SECONDARY;
        // Serving through the peer is a Primary's state: a later promotion (--force) owns its copy.
        ctx.state.attachedWhilePrimary = false;
        ctx.writePath.clearPrimaryMarkWhenRetired();
        ctx.failover.onDemoted();
        ctx.writePath.onDemoted();
        ctx.hook(Hook.AFTER_DEMOTE);
    }

    /** The disk failed: a Primary cannot serve without it, so it demotes, whatever its clients hold. */
    void demoteFailed() {
        if (ctx.state.role == Role.PRIMARY) {
            ctx.log("warn", "demoted: the disk failed");
            becomeSecondary();
        }
    }

    /** The witness deposed this Primary: it demotes at once, whatever its clients hold. */
    void demoteDeposed() {
        becomeSecondary();
    }

    /**
     * An orderly stop: demote, say goodbye after the last acknowledged write, close. The
     * driver has stopped the front end; writes still running fail rather than being
     * acknowledged alone after the goodbye.
     */
    private CommandResult down() {
        NodeState state = ctx.state;
        if (state.role == Role.PRIMARY) {
            becomeSecondary();
        }
        state.wantConnect = false;
        if (state.connected()) {
            ctx.failover.sayGoodbye();
            io.repl.protocol.PeerState goodbye = ctx.handshake.stateMessage();
            ctx.send(goodbye);
            ctx.lastSentState = goodbye;
            ctx.close(DisconnectReason.SHUTDOWN, "going down", true);
        } else if (state.connection == ConnectionState.CONNECTING) {
            state.connection = ConnectionState.STAND_ALONE;
        }
        return CommandResult.ok();
    }

    private CommandResult disconnect() {
        ctx.state.wantConnect = false;
        if (ctx.state.connected()) {
            ctx.close(DisconnectReason.OPERATOR, "disconnect by the operator", true);
        } else if (ctx.state.connection == ConnectionState.CONNECTING) {
            ctx.state.connection = ConnectionState.STAND_ALONE;
        }
        return CommandResult.ok();
    }

    private CommandResult connect(boolean discardMyData) {
        if (ctx.state.connection != ConnectionState.STAND_ALONE) {
            return CommandResult.refused("the connection is " + ctx.state.connection.displayName(),
                    "disconnect first to change how it connects");
        }
        if (ctx.state.disk == DiskState.FAILED) {
            return CommandResult.refused("the local disk failed", "replace or re-attach the disk (down, up)");
        }
        if (discardMyData && ctx.state.role == Role.PRIMARY) {
            return CommandResult.refused("a Primary cannot discard its data", "demote it first");
        }
        ctx.state.discardMyData = discardMyData;
        ctx.state.standAloneReason = null;
        ctx.state.wantConnect = true;
        ctx.state.connection = ConnectionState.CONNECTING;
        return CommandResult.ok();
    }

    private CommandResult invalidate() {
        if (ctx.state.role == Role.PRIMARY) {
            return CommandResult.refused("a Primary cannot invalidate its own data", "demote it first");
        }
        if (ctx.state.replication != ReplicationState.OFF && ctx.state.replication != ReplicationState.ESTABLISHED) {
            return CommandResult.refused("a resync is running", "wait for it to finish");
        }
        if (!ctx.state.diskWritable()) {
            return CommandResult.refused("the disk is " + ctx.state.disk.displayName(), "attach a working disk");
        }
        if (ctx.state.connected() && ctx.state.peerDisk == DiskState.DISKLESS) {
            return CommandResult.refused("the peer is Diskless and serves from this copy, the only one",
                    "attach the peer's disk and let it resync first");
        }
        if (!ctx.writePath.idle()) {
            // They would be acknowledged to the application and then overwritten by the resync.
            return CommandResult.refused("writes this node took as Primary are still in flight",
                    "retry once they have completed");
        }
        ctx.meta.markInconsistent();
        ctx.meta.bitmap().markAllDirty();
        ctx.meta.persistBitmap();
        ctx.state.disk = DiskState.INCONSISTENT;
        if (ctx.state.connected()) {
            ctx.handshake.begin();
        }
        return CommandResult.ok();
    }

    /**
     * This copy overwrites the peer's in full: the flag rides on the STATE of a renegotiation,
     * and the handshake (both sides alike) turns the in-sync verdict into a full sync from here.
     */
    private CommandResult invalidateRemote() {
        NodeState state = ctx.state;
        if (!state.connected()) {
            return CommandResult.refused("not connected to the peer", "connect first; the peer's copy is"
                    + " overwritten over the connection");
        }
        if (ctx.handshake.active()) {
            return CommandResult.refused("the connection is still exchanging states", "retry in a moment");
        }
        if (state.replication != ReplicationState.ESTABLISHED) {
            return CommandResult.refused("the pair is " + state.replication.displayName() + " (a resync is running"
                    + " or the nodes are not in sync)", "wait for it to finish");
        }
        if (state.disk != DiskState.UP_TO_DATE) {
            return CommandResult.refused("this disk is " + state.disk.displayName() + "; only an UpToDate copy"
                    + " may overwrite its peer", "resync this node first, or run invalidate-remote on the peer");
        }
        if (state.peerRole == Role.PRIMARY) {
            return CommandResult.refused("the peer " + state.peerName + " is Primary and serves its copy",
                    "demote it first (replctl secondary on " + state.peerName + ")");
        }
        if (state.peerDisk == DiskState.DISKLESS || state.peerDisk == DiskState.FAILED) {
            return CommandResult.refused("the peer has no disk (" + state.peerDisk.displayName() + ")",
                    "attach the peer's disk; it is resynced in full then anyway");
        }
        state.invalidatePeer = true;
        ctx.handshake.begin();
        return CommandResult.ok();
    }

    /**
     * Declares two fresh copies identical so no initial sync runs. Only for devices that are
     * known to hold the same bytes (typically both zeroed); otherwise they silently differ.
     */
    private CommandResult clearBitmap() {
        NodeState state = ctx.state;
        boolean fresh = state.connected() && state.replication == ReplicationState.ESTABLISHED
                && state.disk == DiskState.INCONSISTENT && state.peerDisk == DiskState.INCONSISTENT;
        if (!fresh) {
            return CommandResult.refused("needs a connected pair with both disks Inconsistent (now "
                    + state.disk.displayName() + "/" + (state.peerDisk == null ? "no peer" : state.peerDisk.displayName())
                    + ")", "connect both nodes first, or use primary --force for a full initial sync");
        }
        ctx.meta.bitmap().clearBlocks(0, ctx.meta.bitmap().blocks());
        ctx.meta.persistBitmap();
        ctx.meta.markUpToDate(ctx.meta.uuids().newCurrentClearBitmap(ctx.meta.random()));
        ctx.meta.shareGeneration();
        state.disk = DiskState.UP_TO_DATE;
        ctx.send(UuidMessages.toMessage(ctx.meta));
        return CommandResult.ok();
    }

    /**
     * The peer announced new generations outside a handshake: new-current-uuid --clear-bitmap,
     * or, to this Diskless node, the generation its peer's copy moved to when this node lost its
     * disk ({@link CoreContext#peerDiskGone}), which this node serves from then on.
     */
    void onPeerGeneration(io.repl.protocol.GenerationUuids uuids) {
        NodeState state = ctx.state;
        if (state.disk == DiskState.DISKLESS && state.replication == ReplicationState.ESTABLISHED
                && state.peerDisk == DiskState.UP_TO_DATE && uuids.has(io.repl.protocol.GenerationUuids.CONSISTENT)) {
            ctx.meta.update(s -> s.withUuids(UuidMessages.fromMessage(uuids)));
            ctx.writePath.onPeerGenerationKnown();
            return;
        }
        if (state.attachedWhilePrimary && uuids.has(io.repl.protocol.GenerationUuids.CONSISTENT)) {
            // Sent while this node was still Diskless; its attached disk keeps its own identifiers.
            ctx.writePath.onPeerGenerationKnown();
            return;
        }
        boolean fresh = state.replication == ReplicationState.ESTABLISHED && state.disk == DiskState.INCONSISTENT
                && Handshake.isClearBitmapAnnouncement(uuids);
        if (!fresh) {
            ctx.protocolError("UUIDS outside a handshake that is not a clear-bitmap announcement");
            return;
        }
        ctx.meta.bitmap().clearBlocks(0, ctx.meta.bitmap().blocks());
        ctx.meta.persistBitmap();
        ctx.meta.markUpToDate(UuidMessages.fromMessage(uuids));
        ctx.meta.shareGeneration();
        state.disk = DiskState.UP_TO_DATE;
    }

    private CommandResult pause(boolean paused) {
        ctx.state.syncPausedLocally = paused;
        ctx.syncPauseChanged();
        return CommandResult.ok();
    }
}
