package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import org.junit.jupiter.api.Test;

/** {@code invalidate-remote}: this node's copy overwrites its peer's in full, and its refusals. */
class InvalidateRemoteScenarioTest {
    private static final long MS = Simulation.MS;
    private static final int ALPHA = 0;
    private static final int BETA = 1;
    private static final long VOLUME = 4L << 20;

    private static Simulation inSyncPair() {
        Simulation sim = new Simulation(5, new Simulation.Options(ReplicationProtocol.C, VOLUME, VOLUME, 0,
                FailoverPolicy.defaults()));
        sim.bootInSyncWithPrimary(ALPHA);
        return sim;
    }

    @Test
    void thePeerIsResyncedInFullFromThisNode() {
        Simulation sim = inSyncPair();
        for (int block = 0; block < 64; block += 8) {
            long id = sim.write(ALPHA, block, 4, false);
            sim.waitFor(() -> sim.completion(id) != null, 1000 * MS, "write");
        }
        // Behind the agent's back, beta's copy rots: only a full resync repairs what no bitmap knows.
        sim.node(BETA).disk().write(100L * 4096, BlockPattern.blocks(100, new long[] {999}),
                true);
        long before = sim.network().resyncBytes();
        assertTrue(sim.node(ALPHA).command(new Command.InvalidateRemote()).done());
        sim.waitFor(() -> sim.node(BETA).status().replication() == ReplicationState.SYNC_TARGET, 500 * MS,
                "beta SyncTarget");
        assertEquals(ReplicationState.SYNC_SOURCE, sim.node(ALPHA).status().replication());
        assertEquals(Role.PRIMARY, sim.node(ALPHA).status().role(), "the Primary goes on serving");
        long write = sim.write(ALPHA, 200, 2, false);
        sim.awaitInSync();
        assertEquals(0, sim.completion(write));
        assertEquals(VOLUME, sim.network().resyncBytes() - before, "every block went to beta once");
        assertEquals(java.util.List.of(), sim.node(ALPHA).disk().differingBlocks(sim.node(BETA).disk()));
        assertEquals(DiskState.UP_TO_DATE, sim.node(BETA).status().disk());
        sim.heal();
    }

    @Test
    void refusals() {
        Simulation sim = inSyncPair();
        CommandResult peerPrimary = sim.node(BETA).command(new Command.InvalidateRemote());
        assertEquals(CommandResult.REFUSED, peerPrimary.exitCode());
        assertTrue(peerPrimary.reason().contains("Primary"), peerPrimary.reason());
        // During a resync: the target's disk is not UpToDate, and the source's pair is syncing.
        assertTrue(sim.node(ALPHA).command(new Command.InvalidateRemote()).done());
        sim.waitFor(() -> sim.node(BETA).status().replication() == ReplicationState.SYNC_TARGET, 500 * MS, "sync");
        CommandResult syncing = sim.node(ALPHA).command(new Command.InvalidateRemote());
        assertEquals(CommandResult.REFUSED, syncing.exitCode());
        assertTrue(syncing.reason().contains("SyncSource"), syncing.reason());
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        CommandResult notUpToDate = sim.node(BETA).command(new Command.InvalidateRemote());
        assertEquals(CommandResult.REFUSED, notUpToDate.exitCode());
        sim.awaitInSync();
        assertTrue(sim.node(BETA).command(new Command.Disconnect()).done());
        sim.waitFor(() -> sim.node(ALPHA).status().connection() != ConnectionState.CONNECTED, 500 * MS, "apart");
        CommandResult apart = sim.node(ALPHA).command(new Command.InvalidateRemote());
        assertEquals(CommandResult.REFUSED, apart.exitCode());
        assertTrue(apart.reason().contains("not connected"), apart.reason());
        assertTrue(sim.node(BETA).command(new Command.Connect(false)).done());
        sim.awaitInSync();
        assertEquals(java.util.List.of(), sim.node(ALPHA).disk().differingBlocks(sim.node(BETA).disk()));
    }
}
