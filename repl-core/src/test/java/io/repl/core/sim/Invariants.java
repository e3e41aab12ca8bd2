package io.repl.core.sim;

import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.Errno;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.core.uuid.GenerationUuids;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import java.util.List;
import java.util.TreeMap;
import java.util.function.LongPredicate;

/**
 * The simulator's checkers: what must hold after every step, at every crash of a Primary, at
 * every completed flush and at every state change. A broken invariant throws a
 * {@link SimulationFailure} naming the seed and the step.
 */
final class Invariants {
    /** What a flush promises: the writes acknowledged before it was issued, durable on both copies. */
    private record FlushPromise(long[] versions, long[] values, long connectionId, boolean replicating,
                                java.util.Map<Integer, java.util.Set<Long>> reverted, boolean localCopy) {
    }

    private final Simulation simulation;
    private final SimNode[] nodes;
    private final DataModel model;
    private final ReplicationProtocol protocol;
    private final int blocks;
    private final TreeMap<Long, FlushPromise> flushPromises = new TreeMap<>();
    private final ReplicationState[] lastReplication = {ReplicationState.OFF, ReplicationState.OFF};
    private final DiskState[] lastDisk = {DiskState.DISKLESS, DiskState.DISKLESS};
    /**
     * Of a node's {@link #uniqueWrites}, those acknowledged while not connected since its latest
     * connection came up: a resync on that connection cannot carry them.
     */
    private final int[] uniqueApart = new int[2];
    private final boolean[] wasConnected = new boolean[2];
    /** Per node: writes it acknowledged that its peer may never have received. */
    final int[] uniqueWrites = new int[2];
    /** Per node: the operator told it to give up its changes (discard-my-data, invalidate, create-md). */
    final boolean[] discarding = new boolean[2];

    Invariants(Simulation simulation, SimNode[] nodes, DataModel model, ReplicationProtocol protocol, int blocks) {
        this.simulation = simulation;
        this.nodes = nodes;
        this.model = model;
        this.protocol = protocol;
        this.blocks = blocks;
    }

    private SimulationFailure failure(String message, Throwable cause) {
        return simulation.failure(message, cause);
    }

    /**
     * A write {@code node} acknowledged: unique unless it was being replicated, or the peer
     * answered its DATA ({@code peerHasIt}). An Ahead node acknowledges both writes it mirrored
     * before it went Ahead and writes it only announced with OUT_OF_SYNC
     * ({@code announcedOutOfSync}); only the latter are its own.
     */
    void onWriteAcknowledged(SimNode node, boolean announcedOutOfSync, boolean peerHasIt) {
        CoreStatus status = node.status();
        boolean mirroredBeforeAhead = status.replication() == ReplicationState.AHEAD && !announcedOutOfSync;
        // The peer answered this write's DATA: it has it, whatever the state is by the time the
        // write completes (a renegotiation may have begun while the local write was running).
        boolean replicated = peerHasIt || status.connection() == ConnectionState.CONNECTED
                && (status.replication().isEstablished() || status.replication().isSource()
                || mirroredBeforeAhead)
                && status.peerDisk() != DiskState.FAILED && status.peerDisk() != DiskState.DISKLESS;
        // A node without a current copy of its own (Diskless, or resyncing a disk it attached;
        // also once demoted with such writes still running) completes a write only with the
        // peer's WRITE_ACK: the peer has it.
        boolean throughPeer = status.disk() == DiskState.DISKLESS || status.disk() == DiskState.INCONSISTENT;
        if (!replicated && !throughPeer) {
            uniqueWrites[node.index()]++;
            if (status.connection() != ConnectionState.CONNECTED) {
                uniqueApart[node.index()]++;
            }
        }
        SimNode other = nodes[1 - node.index()];
        // A Primary that holds its writes, or still mirrors them to its peer (its view of the
        // connection may lag), acknowledges nothing alone: only two Primaries both able to
        // acknowledge alone are two writers.
        if (!replicated && !throughPeer && other.up() && writesAlone(other.status())) {
            if (mustKeepPromise()) {
                throw failure("two writers: " + node.name() + " acknowledged a write alone while " + other.name()
                        + " was Primary (" + node.status() + " | " + other.status() + ")", null);
            }
            model.invalidate(node.name() + " acknowledged a write alone while " + other.name() + " was Primary");
        }
    }

    private static boolean writesAlone(CoreStatus status) {
        boolean mirroring = status.connection() == ConnectionState.CONNECTED
                && (status.replication().isEstablished() || status.replication().isSource())
                && status.peerDisk() != DiskState.FAILED && status.peerDisk() != DiskState.DISKLESS;
        // A Primary without a current copy of its own (Diskless, or resyncing an attached disk)
        // writes only through its peer: never alone.
        boolean ownCopy = status.disk() != DiskState.DISKLESS && status.disk() != DiskState.INCONSISTENT;
        // Connected with the handshake still deciding (replication Off), writes wait for it
        // (WritePath.admissible): such a Primary acknowledges nothing, alone or not.
        boolean handshaking = status.connection() == ConnectionState.CONNECTED
                && status.replication() == ReplicationState.OFF;
        return status.role() == Role.PRIMARY && status.failover().heldReason() == null && !mirroring && ownCopy
                && !handshaking;
    }

    /**
     * Whether the failover promise binds this world now: protocol C, a fencing policy other
     * than dont-care, and nothing forced or discarded that the model had to give up on.
     */
    boolean mustKeepPromise() {
        return protocol == ReplicationProtocol.C && model.valid()
                && simulation.failover.fencing() != io.repl.core.replication.FailoverPolicy.Fencing.DONT_CARE;
    }

    /**
     * The promise itself: a node promoted without --force holds every acknowledged write (or a
     * newer one still in flight), whatever happened before.
     */
    void checkPromotion(SimNode node) {
        if (!mustKeepPromise()) {
            return;
        }
        for (int block = 0; block < blocks; block++) {
            long value = BlockPattern.versionOf(node.disk().block(block), block);
            if (!model.allows(block, value)) {
                throw failure("acknowledged write lost: " + node.name() + " was promoted without --force, but block "
                        + block + " holds " + value + " while " + model.acked(block) + " was acknowledged ("
                        + node.status() + ")", null);
            }
        }
    }

    /**
     * No silent merge: a node never becomes SyncTarget while it holds acknowledged writes its
     * peer never received. Returns whether a resync as target just finished.
     */
    boolean onStateChanged(SimNode node, CoreStatus status) {
        int i = node.index();
        ReplicationState before = lastReplication[i];
        DiskState diskBefore = lastDisk[i];
        lastReplication[i] = status.replication();
        lastDisk[i] = status.disk();
        if (status.replication().isTarget() && !before.isTarget() && uniqueWrites[i] > 0 && !discarding[i]) {
            throw failure("silent merge: " + node.name() + " became SyncTarget although it acknowledged "
                    + uniqueWrites[i] + " writes its peer never received", null);
        }
        boolean connected = status.connection() == ConnectionState.CONNECTED;
        if (connected && !wasConnected[i]) {
            // What it acknowledged alone before is marked out of sync for this connection's handshake.
            uniqueApart[i] = 0;
        }
        wasConnected[i] = connected;
        // With a Diskless node nothing is merged: its detached copy comes back only in full.
        boolean diskless = status.disk() == DiskState.DISKLESS || status.peerDisk() == DiskState.DISKLESS;
        if (status.replication().isEstablished() && before == ReplicationState.OFF && !diskless
                && uniqueWrites[0] > 0 && uniqueWrites[1] > 0) {
            throw failure("silent merge: Established although both nodes acknowledged writes the other lacks", null);
        }
        // A resync as target ends in Established and UpToDate: through SyncTarget, or at once
        // when an Inconsistent node's handshake finds nothing left to fetch (an earlier resync,
        // paused or cut off, had already written every block).
        boolean finished = (before.isTarget() || before == ReplicationState.OFF && diskBefore == DiskState.INCONSISTENT)
                && status.replication().isEstablished() && status.disk() == DiskState.UP_TO_DATE;
        if (finished) {
            uniqueWrites[i] = 0;
            // The source's writes acknowledged alone are on this disk now, but for those it
            // acknowledged after leaving the connection the resync ran on: a resync can finish on
            // data that was in flight when the source closed the connection and wrote on alone.
            // (While the source stays connected that count is 0: it restarts at every connect.)
            int source = 1 - i;
            uniqueWrites[source] = Math.min(uniqueWrites[source], uniqueApart[source]);
            discarding[i] = false;
        }
        return finished;
    }

    void onFlushCompleted(SimNode node, long requestId, int errno) {
        FlushPromise promise = flushPromises.remove(requestId);
        if (promise != null && errno == Errno.OK) {
            checkFlushDurable(node, promise);
        }
    }

    void forgetFlushes(LongPredicate requestIds) {
        flushPromises.keySet().removeIf(requestIds::test);
    }

    /**
     * Whether the Secondary must hold every write the Primary acknowledged if the Primary died
     * now: protocol C or B (B once the Secondary has applied what it received), and the Primary
     * saw it UpToDate and Established.
     */
    boolean survivorMustHoldAcknowledged(SimNode primary, SimNode secondary) {
        CoreStatus seen = primary.status();
        boolean replicating = seen.connection() == ConnectionState.CONNECTED
                && seen.replication().isEstablished() && seen.peerDisk() == DiskState.UP_TO_DATE;
        return protocol != ReplicationProtocol.A && model.valid() && replicating
                && secondary.status().disk() == DiskState.UP_TO_DATE;
    }

    /** The survivor of a Primary's crash holds every acknowledged write (or a newer one in flight). */
    void checkSurvivorHoldsAcknowledgedWrites(String primaryName, SimNode secondary) {
        for (int block = 0; block < blocks; block++) {
            long value = BlockPattern.versionOf(secondary.disk().block(block), block);
            if (!model.allows(block, value)) {
                throw failure("acknowledged write lost: after the Primary " + primaryName + " crashed, block "
                        + block + " on " + secondary.name() + " holds " + value + " but " + model.acked(block)
                        + " was acknowledged", null);
            }
        }
    }

    void promiseDurability(long requestId, SimNode node) {
        SimNode other = nodes[1 - node.index()];
        if (!model.valid() || other.up() && other.status().role() == Role.PRIMARY || uniqueWrites[other.index()] > 0) {
            // A flush vouches for the writes its own node acknowledged. When the other node
            // acknowledged writes alone (it had the witness's grant while this one held its
            // writes), the model cannot tell them apart.
            return;
        }
        flushPromises.put(requestId, new FlushPromise(model.ackedVersions(), model.ackedValues(),
                node.connectionId(), replicatingToUpToDatePeer(node.status()), model.revertedNow(),
                node.status().disk() == DiskState.UP_TO_DATE));
    }

    private static boolean replicatingToUpToDatePeer(CoreStatus status) {
        return status.connection() == ConnectionState.CONNECTED && status.replication().isEstablished()
                && status.peerDisk() == DiskState.UP_TO_DATE;
    }

    /**
     * A completed FLUSH: every write acknowledged before it was issued is durable on this disk,
     * and on the peer's if the connection stayed up and in sync throughout.
     */
    private void checkFlushDurable(SimNode node, FlushPromise promise) {
        if (!model.valid()) {
            return;
        }
        SimNode peer = nodes[1 - node.index()];
        boolean peerToo = promise.replicating() && peer.up() && node.connectionId() == promise.connectionId()
                && replicatingToUpToDatePeer(node.status());
        // A node without a current copy of its own (Diskless, or resyncing an attached disk)
        // made its writes durable on the peer alone.
        boolean localToo = promise.localCopy() && node.status().disk() == DiskState.UP_TO_DATE;
        for (int block = 0; block < blocks; block++) {
            if (localToo) {
                checkDurable(node, block, promise);
            }
            if (peerToo) {
                checkDurable(peer, block, promise);
            }
        }
    }

    private void checkDurable(SimNode node, int block, FlushPromise promise) {
        if (promise.versions()[block] == 0) {
            return;
        }
        long value = BlockPattern.headerVersion(node.disk().durableBlock(block), block);
        boolean same = value == promise.values()[block];
        boolean newer = value > 0 && value >= promise.versions()[block];
        boolean zeroedSince = value == 0 && (model.allows(block, 0) || model.zeroedAfter(block, promise.versions()[block]));
        // A power loss may have left a torn block, which a resync then copied: compare whole blocks.
        java.util.Set<Long> left = promise.reverted().get(block);
        boolean reverted = left != null
                && left.contains(BlockPattern.versionOf(node.disk().durableBlock(block), block));
        if (!same && !newer && !zeroedSince && !reverted) {
            throw failure("flush broke its promise: block " + block + " on " + node.name() + " is durably "
                    + value + " but " + promise.values()[block] + " was acknowledged before the flush", null);
        }
    }

    /**
     * The SyncTarget's controller keeps its bounds: never more than the fill target in flight,
     * its rate between the floor and the ceiling (the core checks the first at every request too).
     */
    private void checkResyncPacing(SimNode node, CoreStatus status) {
        io.repl.core.replication.SyncProgress sync = status.sync();
        if (sync == null || sync.inFlightBytes() < 0) {
            return;
        }
        io.repl.core.replication.RateControl rate = node.config().sync().rate();
        if (sync.inFlightBytes() > rate.fillTargetBytes()) {
            throw failure(node.name() + " has " + sync.inFlightBytes() + " resync bytes in flight, over the fill target "
                    + rate.fillTargetBytes(), null);
        }
        if (sync.controllerBytesPerSecond() < rate.minBytesPerSecond()
                || sync.controllerBytesPerSecond() > rate.maxBytesPerSecond()) {
            throw failure(node.name() + " paces its resync at " + sync.controllerBytesPerSecond() + " bytes/s, outside "
                    + rate.minBytesPerSecond() + ".." + rate.maxBytesPerSecond(), null);
        }
    }

    void checkEveryStep(boolean noRequestsOutstanding) {
        int primaries = 0;
        for (SimNode node : nodes) {
            if (!node.up()) {
                continue;
            }
            CoreStatus status = node.status();
            if (status.role() == Role.PRIMARY) {
                primaries++;
                // A Diskless Primary serves through its peer; one that attached a disk since
                // resyncs it while it serves (the lost-write and read invariants check both).
                boolean throughPeer = status.disk() == DiskState.DISKLESS
                        || status.disk() == DiskState.INCONSISTENT && node.attachedAsPrimary();
                if (status.disk() != DiskState.UP_TO_DATE && !throughPeer) {
                    throw failure(node.name() + " is Primary with a " + status.disk().displayName() + " disk", null);
                }
            }
            checkAheadBehind(node, status);
            if (status.replication().isSource() && status.disk() != DiskState.UP_TO_DATE) {
                // An Inconsistent copy (an interrupted resync, an invalidate) is never a source.
                throw failure(node.name() + " is " + status.replication().displayName() + " with a "
                        + status.disk().displayName() + " disk", null);
            }
            checkResyncPacing(node, status);
        }
        // Two nodes promoted at the same moment are both Primary until their STATEs cross; a
        // Primary that has seen its peer as Primary must never go on replicating with it.
        for (SimNode node : nodes) {
            CoreStatus status = node.up() ? node.status() : null;
            if (primaries == 2 && status != null && status.replication() != ReplicationState.OFF
                    && status.peerRole() == Role.PRIMARY) {
                throw failure("two Primaries replicating to each other: " + node.name() + " knows", null);
            }
        }
        checkBitmapCoversDifferences(noRequestsOutstanding);
        checkSizes();
        checkNoStaleBitmapIdentifier();
    }

    /** Two nodes replicating to each other have the same size. */
    private void checkSizes() {
        // A resize changes one side, then the other when the answer arrives: compare once
        // nothing is on the wire.
        if (!nodes[0].up() || !nodes[1].up() || simulation.network.inFlightTo(0) > 0
                || simulation.network.inFlightTo(1) > 0) {
            return;
        }
        CoreStatus a = nodes[0].status();
        CoreStatus b = nodes[1].status();
        if (a.replication() != ReplicationState.OFF && b.replication() != ReplicationState.OFF
                && nodes[0].dataBytes() != nodes[1].dataBytes()) {
            throw failure("replicating with different sizes: " + nodes[0].dataBytes() + " and "
                    + nodes[1].dataBytes() + " bytes", null);
        }
    }

    /**
     * Two UpToDate copies in sync on a live connection have nothing to track: neither may keep a
     * bitmap identifier (a source that missed its resync's end would, and its next outage would
     * then cost a full sync instead of its bitmap).
     */
    private void checkNoStaleBitmapIdentifier() {
        for (SimNode node : nodes) {
            if (!node.up() || !node.idle()) {
                return;
            }
            CoreStatus status = node.status();
            if (status.connection() != ConnectionState.CONNECTED || status.replication() != ReplicationState.ESTABLISHED
                    || status.disk() != DiskState.UP_TO_DATE || status.peerDisk() != DiskState.UP_TO_DATE) {
                return;
            }
        }
        for (SimNode node : nodes) {
            GenerationUuids uuids = node.metadata().superblock().uuids();
            if (uuids.bitmap() != 0) {
                throw failure(node.name() + " is in sync with its peer but keeps bitmap identifier " + uuids, null);
            }
        }
    }

    /**
     * Ahead and Behind only under pull-ahead; a Behind node is a Secondary whose disk is never
     * UpToDate (so never promoted without --force).
     */
    private void checkAheadBehind(SimNode node, CoreStatus status) {
        boolean aheadOrBehind = status.replication() == ReplicationState.AHEAD
                || status.replication() == ReplicationState.BEHIND;
        if (aheadOrBehind && simulation.onCongestion != io.repl.core.replication.OnCongestion.PULL_AHEAD) {
            throw failure(node.name() + " is " + status.replication().displayName() + " under on-congestion "
                    + simulation.onCongestion, null);
        }
        if (status.replication() == ReplicationState.BEHIND
                && (status.disk() == DiskState.UP_TO_DATE || status.role() != Role.SECONDARY)) {
            throw failure(node.name() + " is Behind as " + status.role().displayName() + " with a "
                    + status.disk().displayName() + " disk", null);
        }
    }

    /** While apart and quiet, every block that differs is in at least one node's bitmap. */
    private void checkBitmapCoversDifferences(boolean noRequestsOutstanding) {
        if (!nodes[0].up() || !nodes[1].up() || !nodes[0].idle() || !nodes[1].idle() || !noRequestsOutstanding) {
            return;
        }
        if (nodes[0].status().connection() == ConnectionState.CONNECTED
                || nodes[1].status().connection() == ConnectionState.CONNECTED) {
            return;
        }
        if (nodes[0].status().disk() == DiskState.DISKLESS || nodes[1].status().disk() == DiskState.DISKLESS) {
            // A detached copy is marked inconsistent and comes back through a full resync.
            return;
        }
        for (int block : nodes[0].disk().differingBlocksByHash(nodes[1].disk())) {
            boolean marked = marked(nodes[0], block) || marked(nodes[1], block);
            if (!marked) {
                throw failure("block " + block + " differs between the nodes but neither bitmap has it", null);
            }
        }
    }

    /** Whether {@code node}'s bitmap marks {@code block}; a block past its size is unmarked. */
    private static boolean marked(SimNode node, int block) {
        return block < node.metadata().bitmap().blocks() && node.metadata().bitmap().isDirty(block);
    }

    /** Healed and quiet: byte-identical copies holding every acknowledged write (if still known). */
    void checkHealed() {
        List<Integer> differing = nodes[0].disk().differingBlocks(nodes[1].disk());
        if (!differing.isEmpty()) {
            throw failure("after healing and resync the copies differ in " + differing.size() + " blocks, first "
                    + differing.get(0) + " (" + BlockPattern.versionOf(nodes[0].disk().block(differing.get(0)),
                    differing.get(0)) + " vs " + BlockPattern.versionOf(nodes[1].disk().block(differing.get(0)),
                    differing.get(0)) + ")", null);
        }
        if (model.valid()) {
            for (int block = 0; block < blocks; block++) {
                long value = BlockPattern.versionOf(nodes[0].disk().block(block), block);
                if (value != model.acked(block) && !model.allows(block, value)) {
                    throw failure("acknowledged write lost: block " + block + " holds " + value + " but "
                            + model.acked(block) + " was acknowledged", null);
                }
            }
        }
    }
}
