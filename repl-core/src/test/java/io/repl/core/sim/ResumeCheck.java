package io.repl.core.sim;

import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import java.util.BitSet;

/**
 * A resync interrupted part way (a lost link, a kill or power loss of either node) resumes from
 * what was left: when the node becomes SyncTarget again, it fetches no block that neither node
 * had dirty when the connection came up, that is, the handshake did not mark everything again.
 * Only a fresh start (create-md, attach) of either node's metadata since excuses a full resync.
 * Together with the per-tick check in {@link SimNode} (the bitmap on disk keeps up with the one
 * in memory), what a crash costs is bounded by one tick of progress.
 */
final class ResumeCheck {
    private final Simulation simulation;
    private final SimNode[] nodes;
    private final ReplicationState[] last = {ReplicationState.OFF, ReplicationState.OFF};
    /** Per node: a resync into it started and has not finished; the metadata epochs then. */
    private final boolean[] unfinished = new boolean[2];
    private final int[][] epochs = new int[2][2];

    ResumeCheck(Simulation simulation, SimNode[] nodes) {
        this.simulation = simulation;
        this.nodes = nodes;
    }

    /** Returns true when a resync resumed (and was checked). */
    boolean onStateChanged(SimNode node, CoreStatus status) {
        int i = node.index();
        boolean entered = status.replication().isTarget() && !last[i].isTarget();
        last[i] = status.replication();
        if (status.disk() == DiskState.UP_TO_DATE) {
            unfinished[i] = false;
            return false;
        }
        if (!entered || node.attachedAsPrimary()) {
            return false;
        }
        SimNode peer = nodes[1 - i];
        boolean resumes = unfinished[i] && epochs[i][0] == node.metadataEpoch() && epochs[i][1] == peer.metadataEpoch();
        unfinished[i] = true;
        epochs[i][0] = node.metadataEpoch();
        epochs[i][1] = peer.metadataEpoch();
        if (!resumes) {
            return false;
        }
        BitSet allowed = (BitSet) node.bitmapAtConnect().clone();
        allowed.or(peer.bitmapAtConnect());
        BitSet fetching = SimNode.dirtyBlocks(node.metadata().bitmap());
        fetching.andNot(allowed);
        if (!fetching.isEmpty()) {
            throw simulation.failure("an interrupted resync into " + node.name() + " started over: it fetches "
                    + fetching.cardinality() + " blocks (first " + fetching.nextSetBit(0) + ") that neither node had"
                    + " dirty when the connection came up (" + node.bitmapAtConnect().cardinality() + " and "
                    + peer.bitmapAtConnect().cardinality() + ")", null);
        }
        return true;
    }
}
