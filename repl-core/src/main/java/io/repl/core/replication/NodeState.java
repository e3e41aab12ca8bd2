package io.repl.core.replication;

import io.repl.protocol.DiskState;
import io.repl.protocol.PeerState;
import io.repl.protocol.Role;

/** The states of one node and what it knows of its peer; mutated only by the core's parts. */
final class NodeState {
    Role role = Role.SECONDARY;
    DiskState disk = DiskState.INCONSISTENT;
    ConnectionState connection = ConnectionState.STAND_ALONE;
    ReplicationState replication = ReplicationState.OFF;
    String peerName;
    int peerNodeId = -1;
    Role peerRole;
    DiskState peerDisk;
    int peerFlags;
    /** The optional features both nodes offered on the current connection ({@code Features}). */
    int features;
    /** The operator asked for connect --discard-my-data; cleared by the next handshake. */
    boolean discardMyData;
    /** invalidate-remote: the next handshake makes the peer a full SyncTarget of this node. */
    boolean invalidatePeer;
    boolean syncPausedLocally;
    /** Whether the driver should (re)connect once the current connection is gone. */
    boolean wantConnect;
    /** Why the node went StandAlone (the close's detail), for status; null while it wants a connection. */
    String standAloneReason;
    /** Changes on every connect and disconnect, so completions of an old connection send nothing. */
    long connectionGeneration;
    /**
     * The driver said the connection's send queue is above its high water mark: new writes wait
     * until it drains. A new connection starts uncongested.
     */
    boolean peerCongested;
    /**
     * Why the disk is Failed (a data write, a flush, the metadata device) or Diskless (detached
     * after an error, or by the operator), or null.
     */
    String diskFailure;
    /** When the disk failed or was detached, on the driver's clock. */
    long diskFailureNanos;
    /** A Diskless node told the driver it may release the disk (nothing of it was in flight any more). */
    boolean diskReleased;
    /**
     * A Primary attached a fresh disk while serving through its peer: it may become SyncTarget
     * (its disk holds nothing of its own to lose). Cleared once the disk is UpToDate.
     */
    boolean attachedWhilePrimary;
    /**
     * A Primary detached its disk with a witness configured: the writes only its peer holds are
     * acknowledged once the peer announced the generation it moved to, which it does once the
     * witness recorded that generation as its alone (or once this node's disk is UpToDate again).
     */
    boolean awaitingPeerGeneration;

    boolean connected() {
        return connection == ConnectionState.CONNECTED;
    }

    boolean peerSyncPaused() {
        return (peerFlags & PeerState.SYNC_PAUSED) != 0;
    }

    boolean syncPaused() {
        return syncPausedLocally || peerSyncPaused();
    }

    /** Whether this node has its data disk (it may still be Inconsistent). */
    boolean hasDisk() {
        return disk != DiskState.DISKLESS && disk != DiskState.FAILED;
    }

    boolean diskWritable() {
        return disk != DiskState.FAILED && disk != DiskState.DISKLESS && disk != DiskState.ATTACHING;
    }
}
