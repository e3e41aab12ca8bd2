package io.repl.core.replication;

import io.repl.core.metadata.SuperblockFlag;
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
    final CoreConfig config;
    final CoreActions actions;
    final MetaStore meta;
    final IoTable io;
    final NodeState state = new NodeState();
    long nowNanos;
    /** A flush of what the last run may have left in the system's cache has not completed yet. */
    boolean recoveryFlushPending;
    /** The last STATE sent on the current connection. */
    io.repl.protocol.PeerState lastSentState;

    WritePath writePath;
    PeerWrites peerWrites;
    Handshake handshake;
    ResyncSource resyncSource;
    ResyncTarget resyncTarget;
    Heartbeat heartbeat;
    Roles roles;
    Failover failover;
    WitnessClient witness;

    CoreContext(CoreConfig config, CoreActions actions, MetaStore meta) {
        this.config = config;
        this.actions = actions;
        this.meta = meta;
        // Writes, peer writes, front-end flushes, resync I/O and the few internal flushes are
        // each bounded; this is their sum.
        this.io = new IoTable(actions, 2 * config.writesInFlightMax() + config.queuedRequestsMax()
                + 4 * config.resyncWindow() + 64);
        io.onDurable(errno -> {
            if (errno != Errno.OK) {
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
        if (state.replication.isSource()) {
            // The handshake made the peer our target: it takes DATA even while the STATE saying
            // so (Inconsistent, after Failed or UpToDate) is still on its way. A write marked
            // here instead would be missed: the bitmaps were already exchanged.
            return true;
        }
        return state.replication == ReplicationState.ESTABLISHED && state.peerDisk != null
                && state.peerDisk != DiskState.FAILED && state.peerDisk != DiskState.DISKLESS;
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
        lastSentState = null;
        // From here on nothing goes to the peer and no part may wait for a handshake: writes
        // that waited for one are admitted (or failed) below, not left for a later event.
        state.connection = ConnectionState.DISCONNECTING;
        // A promotion the peer never saw is undone first: this node wrote nothing alone.
        boolean undone = roles.onPeerLost();
        // Writes the peer has not flushed will be marked below; a node just demoted may hold
        // them too, so it needs the new generation as much as a Primary does.
        if ((state.role == Role.PRIMARY && shared || writePath.awaitsPeer()) && meta.generationShared()) {
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
        resyncSource.onPeerLost();
        resyncTarget.onPeerLost();
        peerWrites.onPeerLost();
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
        if (state.disk == DiskState.FAILED) {
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
}
