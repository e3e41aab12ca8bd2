package io.repl.core.replication;

import io.repl.protocol.DiskState;
import io.repl.protocol.Role;

/**
 * A snapshot of one resource's states, as {@code replctl status} shows them.
 *
 * @param peerName null until a peer connected
 * @param peerRole null while not connected
 * @param peerDisk null while not connected
 * @param sync null unless a resync is running
 * @param failover fencing, held writes, the witness
 * @param standAloneReason why the node stays StandAlone (a split brain, unrelated data, an
 *     operator's disconnect), or null
 */
public record CoreStatus(Role role, DiskState disk, ConnectionState connection, ReplicationState replication,
                         String peerName, Role peerRole, DiskState peerDisk, long outOfSyncBytes,
                         SyncProgress sync, FailoverStatus failover, String standAloneReason) {

    /** Whether the states (not the counters) equal those of {@code other}. */
    boolean sameStates(CoreStatus other) {
        return other != null && role == other.role && disk == other.disk && connection == other.connection
                && replication == other.replication && peerRole == other.peerRole && peerDisk == other.peerDisk
                && java.util.Objects.equals(failover.heldReason(), other.failover.heldReason())
                && java.util.Objects.equals(failover.diskNote(), other.failover.diskNote())
                && failover.mayLoseWrites() == other.failover.mayLoseWrites()
                && java.util.Objects.equals(failover.witness(), other.failover.witness());
    }

    @Override
    public String toString() {
        return role.displayName() + "/" + disk.displayName() + " " + connection.displayName() + "/"
                + replication.displayName() + " peer " + (peerRole == null ? "-" : peerRole.displayName())
                + "/" + (peerDisk == null ? "-" : peerDisk.displayName())
                + (failover.heldReason() == null ? "" : " writes held (" + failover.heldReason() + ")")
                + " oos=" + outOfSyncBytes;
    }
}
