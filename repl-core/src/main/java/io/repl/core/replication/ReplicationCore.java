package io.repl.core.replication;

import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.SuperblockFlag;
import io.repl.protocol.Barrier;
import io.repl.protocol.BarrierAck;
import io.repl.protocol.BitmapChunk;
import io.repl.protocol.ChecksumReply;
import io.repl.protocol.ChecksumRequest;
import io.repl.protocol.DataWrite;
import io.repl.protocol.DeviceSizes;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.DiskState;
import io.repl.protocol.Features;
import io.repl.protocol.GenerationUuids;
import io.repl.protocol.Message;
import io.repl.protocol.NegativeAck;
import io.repl.protocol.OutOfSync;
import io.repl.protocol.PeerState;
import io.repl.protocol.Ping;
import io.repl.protocol.PingAck;
import io.repl.protocol.ReadNegativeAck;
import io.repl.protocol.ReadReply;
import io.repl.protocol.ReadRequest;
import io.repl.protocol.ReceiveAck;
import io.repl.protocol.ResyncData;
import io.repl.protocol.ResyncNegativeAck;
import io.repl.protocol.ResyncRequest;
import io.repl.protocol.Role;
import io.repl.protocol.VerifyReply;
import io.repl.protocol.VerifyRequest;
import io.repl.protocol.WriteAck;
import java.nio.ByteBuffer;
import java.util.random.RandomGenerator;

/**
 * The sans-I/O replication state machine of one resource. Events come in through the
 * {@code on*} methods, each with the driver's clock; everything the core wants done goes out
 * through {@link CoreActions}. It never touches a socket, a data file, a thread or a clock.
 * Metadata is the exception by design: it is written synchronously through the injected
 * {@link Metadata} (see {@link MetaStore} for why).
 *
 * <p>Not thread-safe: a driver runs one event loop per resource and calls the core only from it,
 * never from inside an action.
 */
public final class ReplicationCore {
    private final CoreContext ctx;
    private boolean busy;
    private CoreStatus lastPublished;

    public ReplicationCore(CoreConfig config, Metadata metadata, CoreActions actions, RandomGenerator random) {
        ctx = new CoreContext(config, actions, new MetaStore(metadata, random));
        ctx.writePath = new WritePath(ctx);
        ctx.peerWrites = new PeerWrites(ctx);
        ctx.peerReads = new PeerReads(ctx);
        ctx.handshake = new Handshake(ctx);
        ctx.resyncSource = new ResyncSource(ctx);
        ctx.resyncTarget = new ResyncTarget(ctx);
        ctx.verifySource = new VerifySource(ctx);
        ctx.verifyTarget = new VerifyTarget(ctx);
        ctx.heartbeat = new Heartbeat(ctx);
        ctx.roles = new Roles(ctx);
        ctx.failover = new Failover(ctx);
        ctx.witness = new WitnessClient(ctx);
        ctx.attachment = new Attachment(ctx);
        ctx.aheadBehind = new AheadBehind(ctx);
        ctx.resize = new Resize(ctx);
        ctx.state.disk = diskFromMetadata(ctx.meta);
        ctx.failover.noteAtStart(ctx.state.disk);
        ctx.state.wantConnect = config.connectOnStart();
        ctx.state.connection = config.connectOnStart() ? ConnectionState.CONNECTING : ConnectionState.STAND_ALONE;
    }

    /**
     * A node that starts does not know whether its peer moved on while it was down: a consistent
     * copy is Consistent (Outdated if it knew it was behind) until a handshake shows it current.
     * Promoting it before that takes --force.
     */
    private static DiskState diskFromMetadata(MetaStore meta) {
        if (!meta.has(SuperblockFlag.CONSISTENT) || meta.uuids().current() == 0) {
            return DiskState.INCONSISTENT;
        }
        return meta.has(SuperblockFlag.WAS_UP_TO_DATE) ? DiskState.CONSISTENT : DiskState.OUTDATED;
    }

    /** The first event: arms the timer and publishes the initial state. A node starts Secondary. */
    public void start(long nowNanos) {
        enter(nowNanos);
        try {
            if (!ctx.meta.has(SuperblockFlag.AL_CLEAN)) {
                // The agent did not stop cleanly. After a kill the system may still cache writes
                // of the last run: make them durable before a resync sends them and clears
                // their bits, or a later power loss would revert blocks no bitmap records.
                ctx.recoveryFlushPending = true;
                ctx.io.submit(DiskIo.Kind.FLUSH, null, null, false, (errno, ignored) -> {
                    ctx.recoveryFlushPending = false;
                    if (errno != Errno.OK) {
                        ctx.failDisk("the flush after an unclean stop failed with errno " + errno, false);
                    }
                    ctx.resyncSource.pump();
                });
            }
            ctx.meta.setFlag(SuperblockFlag.PRIMARY, false);
            ctx.actions.armTimer(nowNanos + ctx.config.tickNanos());
        } finally {
            leave();
        }
    }

    /** A front-end write, flush, zeroes or trim request. */
    public void onRequest(FrontRequest request, long nowNanos) {
        enter(nowNanos);
        try {
            ctx.writePath.onRequest(request);
        } finally {
            leave();
        }
    }

    /** A data-disk operation completed; {@code readData} holds the bytes of a READ. */
    public void onIoCompleted(long ioId, int errno, ByteBuffer readData, long nowNanos) {
        enter(nowNanos);
        try {
            ctx.io.complete(ioId, errno, readData);
        } finally {
            leave();
        }
    }

    /**
     * An authenticated connection to a peer of this build, offering what this build offers
     * ({@link Features#OFFERED}). Scenario tests use it; a driver passes what was agreed.
     */
    public void onPeerConnected(String peerName, int peerNodeId, long nowNanos) {
        onPeerConnected(peerName, peerNodeId, Features.OFFERED, nowNanos);
    }

    /**
     * An authenticated connection to the peer exists. Only while the core reports Connecting,
     * and only one at a time. {@code peerNodeId} comes from the configuration; {@code features}
     * are what both nodes offered in the handshake ({@link Features#agree}).
     */
    public void onPeerConnected(String peerName, int peerNodeId, int features, long nowNanos) {
        enter(nowNanos);
        try {
            if (ctx.state.connection != ConnectionState.CONNECTING) {
                throw new IllegalStateException("peer connected while " + ctx.state.connection.displayName()
                        + "; the driver connects only while the core is Connecting");
            }
            ctx.state.connection = ConnectionState.CONNECTED;
            ctx.state.peerName = peerName;
            ctx.state.peerNodeId = peerNodeId;
            ctx.state.features = features;
            ctx.state.connectionGeneration++;
            ctx.state.peerCongested = false;
            ctx.failover.onConnected();
            ctx.heartbeat.onConnected();
            if (ctx.roles.promoting()) {
                // The witness is about to name this node the holder of a new generation; a
                // handshake now would compare the old one. The peer comes back after the verdict.
                ctx.close(DisconnectReason.OPERATOR, "a promotion waits for the witness's verdict; connect again", false);
                return;
            }
            ctx.handshake.begin();
        } finally {
            leave();
        }
    }

    /** A message from the peer on the current connection. */
    public void onPeerMessage(Message message, long nowNanos) {
        enter(nowNanos);
        try {
            if (!ctx.state.connected()) {
                throw new IllegalStateException(message.type() + " delivered without a connection");
            }
            ctx.heartbeat.onMessage();
            dispatch(message);
        } finally {
            leave();
        }
    }

    /**
     * The current connection's send queue crossed a water mark: {@code writable} false above the
     * high one, true again below the low one. While it is not writable no new write is admitted
     * (they wait in order), so a link slower than the disk holds the front end back instead of
     * filling memory with payloads; under protocol A nothing else would, since a write is
     * acknowledged as soon as its DATA is handed over. Ignored without a connection.
     *
     * <p>Under {@link OnCongestion#PULL_AHEAD} the driver puts the high mark at the resource's
     * {@code congestion-fill}: an Established Primary that hears {@code false} goes Ahead instead
     * of holding its writes, and {@code true} (below the low mark) starts the resync that ends
     * it ({@link AheadBehind}).
     */
    public void onPeerWritable(boolean writable, long nowNanos) {
        enter(nowNanos);
        try {
            if (!ctx.state.connected() || ctx.state.peerCongested == !writable) {
                return;
            }
            ctx.state.peerCongested = !writable;
            if (writable) {
                ctx.writePath.pump();
            }
        } finally {
            leave();
        }
    }

    /** The connection is gone: closed by the peer, by the network, or confirmed after our close. */
    public void onPeerDisconnected(long nowNanos) {
        onPeerDisconnected("the connection closed", nowNanos);
    }

    /**
     * The connection is gone; {@code cause} says how, as the driver saw it ("ping timeout",
     * "connection reset"), for the log and for status.
     */
    public void onPeerDisconnected(String cause, long nowNanos) {
        enter(nowNanos);
        try {
            if (ctx.state.connected()) {
                ctx.log("warn", "connection to " + ctx.state.peerName + " lost: " + cause);
                ctx.peerLost(cause);
            }
            if (ctx.state.connection == ConnectionState.CONNECTED
                    || ctx.state.connection == ConnectionState.DISCONNECTING) {
                ctx.state.connection = ctx.state.wantConnect ? ConnectionState.CONNECTING
                        : ConnectionState.STAND_ALONE;
            }
        } finally {
            leave();
        }
    }

    /** The connection to the witness is up (authenticated); only with a witness configured. */
    public void onWitnessConnected(long nowNanos) {
        enter(nowNanos);
        try {
            ctx.witness.onConnected();
        } finally {
            leave();
        }
    }

    /** The connection to the witness is gone. */
    public void onWitnessDisconnected(long nowNanos) {
        enter(nowNanos);
        try {
            ctx.witness.onDisconnected();
        } finally {
            leave();
        }
    }

    /** A message from the witness. */
    public void onWitnessMessage(Message message, long nowNanos) {
        enter(nowNanos);
        try {
            ctx.witness.onMessage(message);
        } finally {
            leave();
        }
    }

    /** The fence-peer handler started by {@link CoreActions#fencePeer} exited with {@code exitCode}. */
    public void onFenceResult(long run, int exitCode, String output, long nowNanos) {
        enter(nowNanos);
        try {
            ctx.failover.onFenceResult(run, exitCode, output);
        } finally {
            leave();
        }
    }

    /**
     * The moment asked for with {@link CoreActions#runSoon}: the writes that wait for an
     * activity-log transaction get one, shared by as many as it can serve.
     */
    public void onSoon(long nowNanos) {
        enter(nowNanos);
        try {
            ctx.meta.admitBatch(() -> {
                ctx.writePath.pump();
                ctx.peerWrites.pump();
            });
        } finally {
            leave();
        }
    }

    /** The timer armed with {@link CoreActions#armTimer} fired. */
    public void onTimer(long nowNanos) {
        enter(nowNanos);
        try {
            ctx.heartbeat.onTick();
            ctx.witness.onTick();
            if (ctx.state.connected()) {
                ctx.writePath.onTick();
            }
            ctx.actions.armTimer(nowNanos + ctx.config.tickNanos());
            ctx.resyncSource.onTick();
            ctx.resyncTarget.onTick();
            ctx.verifyTarget.afterEvent(true);
            if (ctx.state.replication.isSource() || ctx.state.replication.isTarget()) {
                // Resync progress reaches the disk once a tick (the pages that changed): a crash
                // of either side redoes at most the last tick's worth when the resync resumes.
                ctx.meta.persistBitmap();
            }
            if (ctx.state.replication.isSource() || ctx.state.replication.isTarget() || ctx.verifySource.running()
                    || ctx.verifyTarget.active()) {
                ctx.actions.stateChanged(status());
            }
        } finally {
            leave();
        }
    }

    /** An operator command; a refusal is a value, never an exception. */
    public CommandResult onCommand(Command command, long nowNanos) {
        enter(nowNanos);
        MetaStore.MetadataFailure metaFailedBefore = ctx.meta.failure();
        try {
            CommandResult result = ctx.roles.execute(command);
            if (!result.done() && !result.isPending()) {
                ctx.log("info", "refused " + command + ": " + result.reason());
            }
            if (result.done() && metaFailedBefore == null && ctx.meta.failure() != null
                    && !(command instanceof Command.Down)) {
                // What the command changed could not be recorded: the disk fails as the event ends.
                // (An orderly stop still stops.)
                return CommandResult.refused(ctx.meta.failure().getMessage(),
                        "repair or replace the metadata device, then down and up");
            }
            return result;
        } finally {
            leave();
        }
    }

    public CoreStatus status() {
        NodeState s = ctx.state;
        ReplicationState replication = s.replication;
        SyncProgress sync = s.replication.isSource() ? ctx.resyncSource.progress()
                : s.replication.isTarget() ? ctx.resyncTarget.progress() : null;
        if (replication == ReplicationState.ESTABLISHED && ctx.verifySource.running()) {
            replication = ReplicationState.VERIFY_S;
            sync = ctx.verifySource.progress();
        } else if (replication == ReplicationState.ESTABLISHED && ctx.verifyTarget.active()) {
            replication = ReplicationState.VERIFY_T;
            sync = ctx.verifyTarget.progress();
        }
        return new CoreStatus(s.role, s.disk, s.connection, replication, s.peerName, s.peerRole, s.peerDisk,
                ctx.meta.bitmap().dirtyBytes(), sync, ctx.failover.status(),
                s.connection == ConnectionState.STAND_ALONE ? s.standAloneReason : null);
    }

    /**
     * Whether no front-end write or flush is pending and every write from the peer is applied:
     * what an orderly stop waits for before its goodbye (a resync in progress does not count).
     */
    public boolean writesIdle() {
        return ctx.writePath.idle() && ctx.peerWrites.idle();
    }

    /** Whether no disk operation, write or resync step is pending (for tests and clean shutdown). */
    public boolean idle() {
        return ctx.io.inFlight() == 0 && ctx.writePath.idle() && ctx.peerWrites.idle()
                && ctx.resyncSource.idle() && ctx.resyncTarget.idle() && ctx.peerReads.idle()
                && ctx.verifySource.idle() && ctx.verifyTarget.idle();
    }

    private void dispatch(Message message) {
        switch (message.type()) {
            case SIZES -> ctx.handshake.onSizes((DeviceSizes) message);
            case UUIDS -> ctx.handshake.onUuids((GenerationUuids) message);
            case STATE -> onPeerState((PeerState) message);
            case DATA -> {
                // The application writes to the copy being synced: the resync yields to it.
                ctx.resyncTarget.onApplicationWrite(((DataWrite) message).length());
                ctx.peerWrites.onData((DataWrite) message);
            }
            case RECV_ACK -> ctx.writePath.onReceiveAck(((ReceiveAck) message).seq());
            case WRITE_ACK -> ctx.writePath.onWriteAck(((WriteAck) message).seq());
            case NEG_ACK -> ctx.writePath.onNegativeAck((NegativeAck) message);
            case BARRIER -> ctx.peerWrites.onBarrier((Barrier) message);
            case BARRIER_ACK -> ctx.writePath.onBarrierAck((BarrierAck) message);
            case PING -> ctx.heartbeat.onPing((Ping) message);
            case PING_ACK -> ctx.heartbeat.onPingAck((PingAck) message);
            case BITMAP -> ctx.handshake.onBitmap((BitmapChunk) message);
            case RS_REQUEST -> ctx.resyncSource.onRequest((ResyncRequest) message);
            case RS_DATA -> ctx.resyncTarget.onData((ResyncData) message);
            case RS_NEG_ACK -> {
                if (!ctx.verifySource.onNegativeAck((ResyncNegativeAck) message)) {
                    ctx.resyncTarget.onNegativeAck((ResyncNegativeAck) message);
                }
            }
            case CSUM_REQUEST -> ctx.resyncSource.onChecksumRequest((ChecksumRequest) message);
            case CSUM_REPLY -> ctx.resyncTarget.onChecksumReply((ChecksumReply) message);
            case OV_REQUEST -> ctx.verifyTarget.onRequest((VerifyRequest) message);
            case OV_REPLY -> ctx.verifySource.onReply((VerifyReply) message);
            case OUT_OF_SYNC -> onOutOfSync((OutOfSync) message);
            case DISCONNECT -> onDisconnect((Disconnect) message);
            case READ_REQUEST -> ctx.peerReads.onRequest((ReadRequest) message);
            case READ_REPLY -> ctx.peerReads.onReply((ReadReply) message);
            case READ_NEG_ACK -> ctx.peerReads.onNegativeAck((ReadNegativeAck) message);
            default -> ctx.protocolError(message.type() + " is not supported by this core yet");
        }
    }

    private void onPeerState(PeerState message) {
        NodeState s = ctx.state;
        DiskState diskBefore = s.peerDisk;
        Role roleBefore = s.peerRole;
        boolean pausedBefore = s.peerSyncPaused();
        s.peerRole = message.role();
        s.peerDisk = message.disk();
        s.peerFlags = message.flags();
        ctx.failover.onPeerState(message);
        if (ctx.handshake.onState(message)) {
            return;
        }
        if (s.role == Role.PRIMARY && message.role() == Role.PRIMARY) {
            ctx.close(DisconnectReason.PROTOCOL_ERROR, "both nodes are Primary", false);
            return;
        }
        ctx.aheadBehind.onPeerState(message);
        if (diskBefore != message.disk()) {
            ctx.resyncSource.onPeerDisk(message.disk() == DiskState.UP_TO_DATE);
        }
        if (ctx.peerDiskless() && (diskBefore != message.disk() || roleBefore != message.role())) {
            ctx.peerDiskGone(diskBefore == DiskState.UP_TO_DATE);
        }
        if (pausedBefore != s.peerSyncPaused()) {
            ctx.syncPauseChanged();
        }
        ctx.writePath.pump();
    }

    private void onOutOfSync(OutOfSync message) {
        if (message.offset() + message.length() > ctx.meta.dataBytes()) {
            ctx.protocolError("OUT_OF_SYNC past the device");
            return;
        }
        ctx.meta.bitmap().markDirty(message.offset(), message.length());
        ctx.resyncTarget.onMarkedOutOfSync(new ByteRange(message.offset(), message.length()));
        ctx.meta.persistBitmap();
    }

    private void onDisconnect(Disconnect message) {
        DisconnectReason reason = message.reason();
        boolean standAlone = reason == DisconnectReason.SPLIT_BRAIN || reason == DisconnectReason.UNRELATED_DATA
                || reason == DisconnectReason.WRONG_PEER;
        ctx.close(reason, "the peer disconnected: " + message.detail(), standAlone);
    }

    private void enter(long nowNanos) {
        if (busy) {
            throw new IllegalStateException("reentrant core event: the driver called the core from an action");
        }
        busy = true;
        ctx.nowNanos = Math.max(ctx.nowNanos, nowNanos);
    }

    /** Sends our STATE if it changed and publishes state changes, once per event. */
    private void leave() {
        try {
            ctx.aheadBehind.afterEvent();
            ctx.failover.afterEvent();
            ctx.verifySource.afterEvent();
            ctx.verifyTarget.afterEvent(false);
            ctx.witness.maybeReport();
            if (ctx.meta.failure() != null) {
                // A metadata write failed during this event, which ran to its end without it.
                ctx.failDisk(ctx.meta.failure().getMessage(), false);
            }
            ctx.releaseDiskWhenIdle();
            ctx.sendStateNow();
            CoreStatus now = status();
            if (!now.sameStates(lastPublished)) {
                ctx.actions.stateChanged(now);
            }
            lastPublished = now;
        } finally {
            busy = false;
        }
    }
}
