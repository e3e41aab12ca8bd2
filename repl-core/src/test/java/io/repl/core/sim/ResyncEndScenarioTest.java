package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.Command;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.uuid.GenerationUuids;
import io.repl.protocol.DiskState;
import io.repl.protocol.MessageType;
import io.repl.protocol.PeerState;
import org.junit.jupiter.api.Test;

/**
 * A resync whose end one side never saw: the link breaks just before the SyncSource gets the
 * target's STATE(UpToDate). The target took the source's generation; the source still holds the
 * bitmap identifier of the resync. Whatever happens next, a later outage must cost no more than
 * the blocks written during it.
 */
class ResyncEndScenarioTest {
    private static final long MS = Simulation.MS;
    private static final int ALPHA = 0;
    private static final int BETA = 1;

    private static Simulation inSyncPair() {
        Simulation sim = new Simulation(11, Simulation.Options.of(ReplicationProtocol.C));
        sim.bootInSyncWithPrimary(ALPHA);
        return sim;
    }

    private static void writeAndWait(Simulation sim, int node, int first, int count) {
        long id = sim.write(node, first, count, false);
        sim.waitFor(() -> sim.completion(id) != null, 2000 * MS, "write " + id);
        assertEquals(0, sim.completion(id));
    }

    private static void partition(Simulation sim) {
        sim.network().partition(true, true);
        sim.waitFor(() -> sim.node(ALPHA).status().connection() != ConnectionState.CONNECTED
                && sim.node(BETA).status().connection() != ConnectionState.CONNECTED, 1000 * MS, "partition");
    }

    /** Beta's STATE(UpToDate) ending the resync never reaches alpha: the link breaks first. */
    private static void resyncWhoseEndAlphaMisses(Simulation sim, boolean staysApart) {
        partition(sim);
        writeAndWait(sim, ALPHA, 10, 3);
        sim.network().cutBefore(BETA, m -> m instanceof PeerState s && s.disk() == DiskState.UP_TO_DATE, staysApart);
        sim.network().partition(false, false);
        sim.waitFor(() -> !sim.network().cutPending(BETA), 2000 * MS, "the end of the resync");
        assertEquals(0, uuids(sim, BETA).bitmap(), "beta took alpha's generation: " + uuids(sim, BETA));
        assertTrue(uuids(sim, ALPHA).bitmap() != 0, "alpha never saw the end: " + uuids(sim, ALPHA));
    }

    private static GenerationUuids uuids(Simulation sim, int node) {
        return sim.node(node).metadata().superblock().uuids();
    }

    /** Partition, {@code blocks} written on alpha, heal: how many blocks the resync moved. */
    private static long nextOutageResyncs(Simulation sim, int blocks) {
        partition(sim);
        writeAndWait(sim, ALPHA, 40, blocks);
        long before = sim.network().count(MessageType.RS_DATA);
        sim.network().partition(false, false);
        sim.awaitInSync();
        return sim.network().count(MessageType.RS_DATA) - before;
    }

    @Test
    void aPrimaryThatMissedTheEndReconnectsWithoutAFullSync() {
        Simulation sim = inSyncPair();
        long before = sim.network().count(MessageType.RS_DATA);
        resyncWhoseEndAlphaMisses(sim, false);
        // Alpha lost its peer as Primary, so it started a generation; it wrote nothing since.
        sim.awaitInSync();
        long moved = sim.network().count(MessageType.RS_DATA) - before;
        assertEquals(1, moved, "the resync of 3 adjacent blocks and the reconnect after it moved " + moved);
        assertEquals(uuids(sim, BETA), uuids(sim, ALPHA));
        assertEquals(0, uuids(sim, ALPHA).bitmap());
        long next = nextOutageResyncs(sim, 2);
        assertEquals(1, next, "the next outage wrote 2 adjacent blocks and resynced " + next + " requests");
        assertEquals(sim.valueOn(ALPHA, 41), sim.valueOn(BETA, 41));
        sim.heal();
    }

    @Test
    void aSecondarySourceThatMissedTheEndCleansUpAtTheNextHandshake() {
        Simulation sim = inSyncPair();
        partition(sim);
        writeAndWait(sim, ALPHA, 10, 3);
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        sim.network().cutBefore(BETA, m -> m instanceof PeerState s && s.disk() == DiskState.UP_TO_DATE, false);
        sim.network().partition(false, false);
        sim.waitFor(() -> !sim.network().cutPending(BETA), 2000 * MS, "the end of the resync");
        assertTrue(uuids(sim, ALPHA).bitmap() != 0, "alpha never saw the end: " + uuids(sim, ALPHA));
        assertEquals(uuids(sim, ALPHA).current(), uuids(sim, BETA).current(), "a Secondary keeps its generation");
        sim.awaitInSync();
        assertEquals(uuids(sim, BETA), uuids(sim, ALPHA), "alpha dropped the stale bitmap identifier");
        assertTrue(sim.promoteNow(ALPHA).done());
        long moved = nextOutageResyncs(sim, 2);
        assertEquals(1, moved, "the next outage wrote 2 adjacent blocks and resynced " + moved + " requests");
        sim.heal();
    }

    @Test
    void aPrimaryThatMissedTheEndAndWroteAloneResyncsOnlyItsBitmap() {
        Simulation sim = inSyncPair();
        resyncWhoseEndAlphaMisses(sim, true);
        // Alpha lost its peer as Primary with the resync's bitmap identifier still set.
        writeAndWait(sim, ALPHA, 40, 2);
        long before = sim.network().count(MessageType.RS_DATA);
        sim.network().partition(false, false);
        sim.awaitInSync();
        long moved = sim.network().count(MessageType.RS_DATA) - before;
        assertEquals(1, moved, "2 adjacent blocks written alone, the resync moved " + moved + " requests");
        assertEquals(sim.valueOn(ALPHA, 41), sim.valueOn(BETA, 41));
        assertEquals(0, uuids(sim, ALPHA).bitmap());
        assertEquals(uuids(sim, BETA), uuids(sim, ALPHA));
        assertEquals(1, nextOutageResyncs(sim, 1));
        sim.heal();
    }
}
