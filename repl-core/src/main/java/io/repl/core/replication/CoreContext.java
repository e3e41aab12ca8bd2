package io.repl.core.replication;

import io.repl.core.metadata.SuperblockFlag;
import io.repl.core.uuid.GenerationUuids;
import io.repl.protocol.DiskState;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Message;
import io.repl.protocol.Role;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What the parts of one core share: configuration, the driver's actions, metadata, the disk
 * operations in flight, the node's states and the clock of the current event. Also the few
 * operations that involve several parts (losing the peer, failing the disk).
 */
final class CoreContext {
    private static final int DETAIL_CHARS_MAX = 500;
    /** Replaced only by {@link #adjust}, between events, like everything here. */
    CoreConfig config;
    final CoreActions actions;
    final MetaStore meta;
    final IoTable io;
    final NodeState state = new NodeState();
    long nowNanos;
    /** A flush of what the last run may have left in the system's cache has not completed yet. */
    boolean recoveryFlushPending;
    /** The last STATE sent on the current connection. */
    io.repl.protocol.PeerState lastSentState;
    /**
     * The generation this node started on seeing its peer a Primary without a disk (0: none
     * since it started): a reconnecting Diskless Primary still naming the one before it is the
     * one this copy served, and takes it again ({@link Handshake}).
     */
    long disklessPeerGeneration;

    WritePath writePath;
    PeerWrites peerWrites;
    PeerReads peerReads;
    Handshake handshake;
    ResyncSource resyncSource;
    ResyncTarget resyncTarget;
    VerifySource verifySource;
    VerifyTarget verifyTarget;
    Heartbeat heartbeat;
    Roles roles;
    Failover failover;
    WitnessClient witness;
    Attachment attachment;
    AheadBehind aheadBehind;
    Resize resize;

    CoreContext(CoreConfig config, CoreActions actions, MetaStore meta) {
        this.config = config;
        this.actions = actions;
        this.meta = meta;
        // Writes, peer writes, front-end flushes, resync I/O (with checksums, a write per piece
        // that differs) and the few internal flushes are each bounded; this is their sum.
        this.io = new IoTable(actions, 2 * config.writesInFlightMax() + config.queuedRequestsMax()
                + 4 * config.resyncWindow() + ResyncTarget.requestsMax(config) + 64);
        meta.onBatch(actions::runSoon);
        io.onDurable(errno -> {
            if (errno != Errno.OK && state.hasDisk()) {
                failDisk("a flush of the data disk failed with errno " + errno, false);
            }
            writePath.pump();
            peerWrites.pump();
        });
    }

    /** Whether a Primary's writes go to the peer now (else they are marked in the bitmap). */
    boolean peerReceivesWrites() {
        if (!state.connected()) {
            return false;
        }
        if (state.replication.isTarget() && state.role == Role.PRIMARY) {
            // A Primary that attached a disk resyncs it while it serves: its writes go to the
            // peer, whose copy is the one that counts until ours is UpToDate.
            return true;
        }
        if (state.replication.isSource()) {
            // The handshake made the peer our target: it takes DATA even while the STATE saying
            // so (Inconsistent, after Failed or UpToDate) is still on its way. A write marked
            // here instead would be missed: the bitmaps were already exchanged.
            return true;
        }
        return state.replication == ReplicationState.ESTABLISHED && state.peerDisk != null
                && state.peerDisk != DiskState.FAILED && state.peerDisk != DiskState.DISKLESS;
    }

    /**
     * Whether the peer can serve this node's reads and hold its writes alone: connected,
     * replicating, and its disk UpToDate. What a Diskless Primary (or one whose disk is still
     * being resynced) needs to go on serving.
     */
    boolean peerServes() {
        return state.connected() && state.peerDisk == DiskState.UP_TO_DATE
                && (state.replication == ReplicationState.ESTABLISHED || state.replication.isTarget());
    }

    /**
     * Whether a Primary may drop its disk now: the peer can serve, and holds every write this
     * node acknowledged. Under protocols A and B a write is acknowledged before the peer has it;
     * until its WRITE_ACK the local disk holds the only copy, and detaching would lose it.
     */
    boolean peerHoldsEverything() {
        return peerServes() && writePath.peerHasEveryAcknowledgedWrite() && meta.bitmap().dirtyBlocks() == 0;
    }

    /**
     * Whether this Primary's reads and writes rely on the peer's copy: it has no disk, or it
     * attached one that is still being resynced.
     */
    boolean servesThroughPeer() {
        return state.role == Role.PRIMARY && (state.disk == DiskState.DISKLESS || state.attachedWhilePrimary);
    }

    void send(Message message) {
        if (!state.connected()) {
            throw new IllegalStateException("send of " + message.type() + " without a connection");
        }
        actions.send(message);
    }

    /** Sends only if the connection {@code generation} is still the current one. */
    boolean sendOn(long generation, Message message) {
        if (state.connected() && generation == state.connectionGeneration) {
            actions.send(message);
            return true;
        }
        return false;
    }

    /** New resync, verify and split-brain settings; whatever runs keeps the ones it started with. */
    void adjust(SyncPolicy sync) {
        if (!sync.equals(config.sync())) {
            config = config.withSync(sync);
            log("info", "adjusted: " + sync + "; a running resync or verify keeps its settings");
        }
    }

    void log(String level, String message) {
        actions.log(level, message);
    }

    /** Runs the handler of {@code hook}, if one is configured, with the core's variables and {@code keyValues}. */
    void hook(Hook hook, String... keyValues) {
        SortedMap<String, String> env = new TreeMap<>();
        env.put("REPL_RESOURCE", config.resourceName());
        if (state.peerName != null) {
            env.put("REPL_PEER", state.peerName);
        }
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            env.put(keyValues[i], keyValues[i + 1]);
        }
        actions.runHook(hook.configName(), env);
    }

    /** The local or the peer's pause flag changed: move between the running and paused states. */
    void syncPauseChanged() {
        boolean paused = state.syncPaused();
        if (state.replication.isSource()) {
            state.replication = paused ? ReplicationState.PAUSED_SYNC_S : ReplicationState.SYNC_SOURCE;
        } else if (state.replication.isTarget()) {
            state.replication = paused ? ReplicationState.PAUSED_SYNC_T : ReplicationState.SYNC_TARGET;
            resyncTarget.fill();
        }
    }

    /** The peer's name for messages: its configured name once known. */
    String peerLabel() {
        return state.peerName == null ? "the peer" : state.peerName;
    }

    /** Runs the fence-peer handler as run {@code run}; its exit code comes back through onFenceResult. */
    void fencePeer(long run) {
        java.util.SortedMap<String, String> env = new TreeMap<>();
        env.put("REPL_RESOURCE", config.resourceName());
        if (state.peerName != null) {
            env.put("REPL_PEER", state.peerName);
        }
        actions.fencePeer(run, env);
    }

    /** The peer broke a rule: close, and try again later (a fresh connection starts clean). */
    void protocolError(String detail) {
        close(DisconnectReason.PROTOCOL_ERROR, detail, false);
    }

    /**
     * Closes the connection from this side. {@code standAlone} keeps it closed until the
     * operator connects again (split brain, refusals, disconnect).
     */
    void close(DisconnectReason reason, String detail, boolean standAlone) {
        if (!state.connected()) {
            if (standAlone && state.connection == ConnectionState.CONNECTING) {
                state.connection = ConnectionState.STAND_ALONE;
            }
            return;
        }
        log("warn", "closing the connection (" + reason + "): " + detail);
        // DISCONNECT carries at most 512 bytes of detail; ours are ASCII sentences.
        actions.closeConnection(reason, detail.length() > DETAIL_CHARS_MAX ? detail.substring(0, DETAIL_CHARS_MAX) : detail);
        peerLost(detail);
        state.wantConnect = !standAlone;
        state.standAloneReason = standAlone ? detail : null;
        state.connection = ConnectionState.DISCONNECTING;
    }

    /**
     * The connection is gone, whoever noticed. A Primary whose generation the peer shared starts
     * a new one before anything else, so every write from now on is tracked against the old one
     * and the next handshake makes it the source.
     */
    void peerLost(String cause) {
        boolean shared = state.replication == ReplicationState.ESTABLISHED || state.replication.isSource()
                || handshake.active();
        Role peerRole = state.peerRole;
        DiskState peerDisk = state.peerDisk;
        long previous = meta.uuids().current();
        boolean inSync = state.replication == ReplicationState.ESTABLISHED && state.disk == DiskState.UP_TO_DATE
                && peerDisk == DiskState.UP_TO_DATE;
        state.connectionGeneration++;
        state.peerCongested = false;
        // invalidate-remote applies to the connection it was given on.
        state.invalidatePeer = false;
        lastSentState = null;
        // From here on nothing goes to the peer and no part may wait for a handshake: writes
        // that waited for one are admitted (or failed) below, not left for a later event.
        state.connection = ConnectionState.DISCONNECTING;
        // A promotion the peer never saw is undone first: this node wrote nothing alone.
        boolean undone = roles.onPeerLost();
        // Writes the peer has not flushed will be marked below; a node just demoted may hold
        // them too, so it needs the new generation as much as a Primary does.
        // A Primary serving through its peer (Diskless, or resyncing an attached disk) has
        // nothing to track: it keeps the generation it serves, by which its peer knows it again.
        if ((state.role == Role.PRIMARY && shared || writePath.awaitsPeer()) && meta.generationShared()
                && !(state.role == Role.PRIMARY && servesThroughPeer())) {
            meta.newCurrent();
            if (undone) {
                // What the new generation holds beyond the old one was never acknowledged: if
                // the peer was promoted meanwhile, this copy yields to it, as a deposed one does.
                meta.update(s -> s.with(SuperblockFlag.DEPOSED, true));
            }
        }
        state.replication = ReplicationState.OFF;
        state.peerRole = null;
        state.peerDisk = null;
        state.peerFlags = 0;
        handshake.reset();
        heartbeat.reset();
        // The failover rules decide, before the writes the peer never acknowledged are looked at,
        // whether those may go alone.
        failover.onPeerLost(cause, peerRole, peerDisk, previous, inSync);
        resize.onPeerLost();
        resyncSource.onPeerLost();
        resyncTarget.onPeerLost();
        verifySource.onPeerLost();
        verifyTarget.onPeerLost();
        peerWrites.onPeerLost();
        peerReads.onPeerLost();
        writePath.onPeerLost();
    }

    /**
     * A data write to the local disk failed (one the peer or a resync needed): this copy has a
     * hole, so it is marked inconsistent first and resyncs in full or in part once repaired.
     */
    void failDisk(String why) {
        failDisk(why, true);
    }

    /**
     * The local disk can no longer be trusted: a write ({@code hole}), a flush or the metadata
     * device failed. Every request still open fails with EIO, so none hangs. A copy with a hole
     * is marked inconsistent (when the metadata still takes writes); after a failed flush or
     * metadata write the data is not known to have one, and the next start treats it as after
     * a crash. A Primary demotes: it cannot serve without its disk, and its goodbye (every write
     * it acknowledged is on the peer, and it will acknowledge none again) lets the peer be
     * promoted without --force. The node stays StandAlone with the reason in its status until
     * it is brought down and up on a working disk.
     */
    void failDisk(String why, boolean hole) {
        if (!state.hasDisk()) {
            return;
        }
        log("error", "local disk failed: " + why);
        state.disk = DiskState.FAILED;
        state.diskFailure = why;
        state.diskFailureNanos = nowNanos;
        if (hole) {
            meta.markInconsistent();
        }
        hook(Hook.LOCAL_IO_ERROR, "REPL_DETAIL", why);
        writePath.failAll();
        roles.demoteFailed();
        state.wantConnect = false;
        if (state.connected()) {
            failover.sayGoodbye();
            io.repl.protocol.PeerState goodbye = handshake.stateMessage();
            send(goodbye);
            lastSentState = goodbye;
            close(DisconnectReason.LOCAL_ERROR, "disk failed: " + why, true);
        } else if (state.connection == ConnectionState.CONNECTING) {
            state.connection = ConnectionState.STAND_ALONE;
            state.standAloneReason = "disk failed: " + why;
        }
    }

    /**
     * A read or write of the data disk failed ({@code why}). Under {@code on-io-error = detach}
     * the node detaches where its peer can serve in its place; the caller then treats the
     * operation as the peer's. Returns whether the node is Diskless now. Otherwise (pass-on, or
     * a Primary whose peer could not serve) the caller passes the error on: a Primary alone must
     * not drop, nor mark inconsistent, the only copy of what it acknowledged.
     */
    boolean diskError(String why) {
        if (!state.hasDisk()) {
            return true;
        }
        if (config.onIoError() == CoreConfig.OnIoError.DETACH) {
            if (detach(why, true)) {
                return true;
            }
            log("error", why + "; not detaching: " + peerLabel() + " could not serve in this node's place");
        }
        hook(Hook.LOCAL_IO_ERROR, "REPL_DETAIL", why);
        return false;
    }

    /**
     * A write this node received (from the Primary, or a resync block) failed: detach under
     * {@code on-io-error = detach}, otherwise the copy has a hole and the disk fails. The peer
     * holds the data either way.
     */
    void receivedWriteFailed(String why) {
        if (config.onIoError() != CoreConfig.OnIoError.DETACH || !detach(why, true)) {
            failDisk(why);
        }
    }

    /**
     * Drops the data disk: the node goes Diskless. It may do so only while its peer's copy is
     * current ({@link #peerServes}; a Primary, {@link #peerHoldsEverything}); a Primary then
     * sends every read and write there. The
     * copy left on the disk is marked inconsistent first (when its metadata still takes a
     * write): it misses what is written from now on, so it comes back only through a full
     * resync. Disk operations in flight finish (their errors no longer matter), then the
     * driver is told it may close the disk. Returns false if the node may not detach now.
     */
    boolean detach(String why, boolean error) {
        // Never the last good copy: the peer must be UpToDate and replicating with this node
        // (and, from a Primary, hold every write it acknowledged).
        if (!state.hasDisk() || !(state.role == Role.PRIMARY ? peerHoldsEverything() : peerServes())) {
            return false;
        }
        log(error ? "error" : "info", "detaching the data disk: " + why);
        // The copy left behind says what it is, should the node restart on it: inconsistent,
        // every block out of sync. (A metadata write that fails here is forgotten with the disk.)
        meta.markInconsistent();
        meta.bitmap().markAllDirty();
        meta.persistBitmap();
        meta.detach();
        DiskState before = state.disk;
        state.disk = DiskState.DISKLESS;
        state.diskFailure = why;
        state.diskFailureNanos = nowNanos;
        state.diskReleased = false;
        state.attachedWhilePrimary = false;
        state.awaitingPeerGeneration = state.role == Role.PRIMARY && config.failover().witness();
        if (error) {
            hook(Hook.LOCAL_IO_ERROR, "REPL_DETAIL", why);
        }
        if (state.connected() && (state.replication != ReplicationState.ESTABLISHED || handshake.active())) {
            // A resync or handshake in progress (also the bitmap exchange after an online resize,
            // which runs while Established) would go on with a disk that is gone: start the
            // connection again, the handshake then sees this node Diskless.
            close(DisconnectReason.LOCAL_ERROR, "detached the disk (" + before.displayName()
                    + ") during " + (handshake.active() ? "a handshake" : state.replication.displayName())
                    + "; connecting again", false);
        }
        if (state.connected()) {
            // The peer learns that this disk is gone before any DATA that skipped it: from that
            // STATE on it marks what it receives as missing here (the disk left behind may come
            // back by a restart with metadata that could not record the detach).
            sendStateNow();
        }
        writePath.onDetached();
        peerWrites.pump();
        return true;
    }

    /**
     * A Primary in sync with its peer whose bitmap still has marked ranges (a local write failed
     * under {@code on-io-error = pass-on}, after the peer wrote it) resyncs them now, as after
     * writing alone: a new generation, and the state exchange again on the live connection.
     */
    void resyncMarkedRanges() {
        if (state.role != Role.PRIMARY || !state.connected() || state.replication != ReplicationState.ESTABLISHED
                || handshake.active() || meta.bitmap().dirtyBlocks() == 0 || !state.hasDisk()) {
            return;
        }
        log("info", meta.bitmap().dirtyBytes() + " bytes marked out of sync while connected: resyncing them");
        if (meta.generationShared()) {
            meta.newCurrent();
        }
        handshake.begin();
    }

    /**
     * The peer's disk failed or was detached, or the peer became Primary without one: this node
     * holds the only current copy from here on, and the disk the peer left behind falls behind
     * it. A new generation records that, as after losing the peer, so that the left-behind disk,
     * should it come back through a restart (its metadata may not have recorded the loss), is a
     * resync target by this node's bitmap and never a source. A Primary with a disk writes alone
     * from here on; a Secondary serving a Diskless Primary marks each write it receives
     * ({@link PeerWrites}) and tells the Primary the new generation, which that Primary serves
     * from then on (its peer knows it by it when they connect again). A Diskless Primary keeps
     * the generation it serves.
     */
    void peerDiskGone(boolean peerWasUpToDate) {
        if (!meta.generationShared() || !state.hasDisk()) {
            return;
        }
        long previous = meta.uuids().current();
        boolean inSync = peerWasUpToDate && state.disk == DiskState.UP_TO_DATE && state.connected()
                && state.replication == ReplicationState.ESTABLISHED;
        if (state.role == Role.PRIMARY) {
            meta.newCurrent();
        } else if (state.peerRole == Role.PRIMARY && state.disk == DiskState.UP_TO_DATE && state.connected()
                && state.replication == ReplicationState.ESTABLISHED) {
            meta.newCurrent();
            disklessPeerGeneration = meta.uuids().current();
            log("info", peerLabel() + " is Primary without a disk: new generation "
                    + GenerationUuids.hex(meta.uuids().current()) + "; the writes it sends are marked out of sync here");
            if (!config.failover().witness()) {
                send(UuidMessages.toMessage(meta));
            }
        } else {
            return;
        }
        witness.tellLoneCopy(previous, inSync);
    }

    /**
     * The witness answered the lone-copy notice ({@link WitnessClient#tellLoneCopy}): a Diskless
     * Primary served through this node learns the generation now, and acknowledges the writes
     * only this node holds (it held them so that the witness could never grant its old disk a
     * promotion after they were acknowledged).
     */
    void loneCopyRecorded() {
        if (state.connected() && state.peerRole == Role.PRIMARY && peerDiskless() && state.role != Role.PRIMARY
                && state.disk == DiskState.UP_TO_DATE && !handshake.active()) {
            send(UuidMessages.toMessage(meta));
        }
        writePath.onAloneAllowed();
    }

    /** The peer has no disk of its own: what it sends lands on this node only. */
    boolean peerDiskless() {
        return state.peerDisk == DiskState.DISKLESS || state.peerDisk == DiskState.FAILED;
    }

    /** Sends our STATE now if it changed, ahead of messages this event still sends. */
    void sendStateNow() {
        if (state.connected() && handshake.stateDiffersFrom(lastSentState)) {
            io.repl.protocol.PeerState current = handshake.stateMessage();
            send(current);
            lastSentState = current;
        }
    }

    /** At the end of every event: a Diskless node hands its disk back once nothing of it is in flight. */
    void releaseDiskWhenIdle() {
        if (state.disk == DiskState.DISKLESS && !state.diskReleased && io.inFlight() == 0) {
            state.diskReleased = true;
            actions.diskDetached();
        }
    }
}
