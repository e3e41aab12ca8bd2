package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import io.repl.protocol.MessageType;
import org.junit.jupiter.api.Test;

/**
 * Online resize, scripted on the simulator: both nodes start on half of their 1 MiB disks
 * (external metadata, grown in place).
 */
class ResizeScenarioTest {
    private static final long MS = Simulation.MS;
    private static final int ALPHA = 0;
    private static final int BETA = 1;
    private static final long HALF = 512 << 10;
    private static final long WHOLE = 1 << 20;

    /** An in-sync pair on half its disks, alpha Primary, with a few blocks written. */
    private static Simulation halfPair() {
        Simulation sim = new Simulation(11, Simulation.Options.of(ReplicationProtocol.C));
        sim.node(ALPHA).startSmaller(HALF);
        sim.node(BETA).startSmaller(HALF);
        sim.bootInSyncWithPrimary(ALPHA);
        long write = sim.write(ALPHA, 3, 4, false);
        sim.waitFor(() -> sim.completion(write) != null, 2000 * MS, "write");
        return sim;
    }

    @Test
    void aGrowSyncsTheNewAreaFromThePrimaryAndItTakesWritesAfterwards() {
        Simulation sim = halfPair();
        CommandResult r = sim.commandAndWait(sim.node(BETA), new Command.Resize(0, false, false), 500 * MS);
        assertNotNull(r, "no answer");
        assertTrue(r.done(), r.reason());
        assertEquals(WHOLE, sim.node(ALPHA).dataBytes());
        assertEquals(WHOLE, sim.node(BETA).dataBytes());
        sim.awaitInSync();
        assertTrue(sim.network().count(MessageType.RS_DATA) > 0, "the new area is resynced");
        long past = sim.write(ALPHA, 200, 2, true);
        sim.waitFor(() -> sim.completion(past) != null, 2000 * MS, "write past the old end");
        assertEquals(0, sim.completion(past));
        sim.heal();
        assertEquals(sim.valueOn(ALPHA, 200), sim.valueOn(BETA, 200));
        assertEquals(sim.valueOn(ALPHA, 4), sim.valueOn(BETA, 4));
    }

    @Test
    void assumeCleanSendsNothing() {
        Simulation sim = halfPair();
        long before = sim.network().count(MessageType.RS_DATA);
        CommandResult r = sim.commandAndWait(sim.node(ALPHA), new Command.Resize(768 << 10, false, true), 500 * MS);
        assertTrue(r != null && r.done(), r == null ? "no answer" : r.reason());
        sim.awaitInSync();
        assertEquals(768 << 10, sim.node(BETA).dataBytes());
        assertEquals(before, sim.network().count(MessageType.RS_DATA), "nothing to resync");
        sim.heal();
    }

    @Test
    void aConnectionLostBetweenTheTwoResizesHealsAtTheNextHandshake() {
        Simulation sim = halfPair();
        // Beta's answer never arrives: it has grown, alpha has not.
        sim.network().partitionOneWay(BETA, true);
        CommandResult pending = sim.node(ALPHA).command(new Command.Resize(0, false, false));
        assertTrue(pending.isPending());
        sim.waitFor(() -> sim.node(BETA).dataBytes() == WHOLE, 500 * MS, "beta grows");
        sim.network().partitionOneWay(BETA, false);
        sim.network().cut();
        sim.waitFor(() -> sim.node(ALPHA).dataBytes() == WHOLE, 3000 * MS, "alpha grows at the handshake");
        sim.awaitInSync();
        long past = sim.write(ALPHA, 250, 1, false);
        sim.waitFor(() -> sim.completion(past) != null, 2000 * MS, "write past the old end");
        assertEquals(0, sim.completion(past));
        sim.heal();
        assertEquals(sim.valueOn(ALPHA, 250), sim.valueOn(BETA, 250));
    }

    @Test
    void refusalsNameTheReason() {
        Simulation sim = halfPair();
        CommandResult shrink = sim.node(ALPHA).command(new Command.Resize(256 << 10, false, false));
        assertEquals(CommandResult.REFUSED, shrink.exitCode());
        assertTrue(shrink.reason().contains("smaller than the current"), shrink.reason());
        CommandResult tooBig = sim.node(ALPHA).command(new Command.Resize(2 << 20, false, false));
        assertEquals(CommandResult.REFUSED, tooBig.exitCode());
        assertTrue(tooBig.reason().contains("more than the disks offer"), tooBig.reason());
        CommandResult external = sim.node(ALPHA).command(new Command.Resize(256 << 10, true, false));
        assertTrue(external.reason().contains("does not shrink"), external.reason());
        assertTrue(sim.node(ALPHA).command(new Command.Disconnect()).done());
        sim.waitFor(() -> sim.node(ALPHA).status().connection() == ConnectionState.STAND_ALONE, 500 * MS, "apart");
        CommandResult apart = sim.node(ALPHA).command(new Command.Resize(0, false, false));
        assertTrue(apart.reason().contains("not connected"), apart.reason());
        assertEquals(HALF, sim.node(ALPHA).dataBytes());
        assertEquals(DiskState.UP_TO_DATE, sim.node(ALPHA).status().disk());
        assertEquals(ReplicationState.OFF, sim.node(ALPHA).status().replication());
    }

    /**
     * A node demoted a moment ago whose last writes never reached its peer (protocol A
     * acknowledged them on sending) must not take the new area: as the resync target it would
     * go Inconsistent, and a connection lost before the resync ends then syncs it whole from
     * the peer, which lacks those writes. It refuses until they are flushed there; they survive.
     */
    @Test
    void aNodeWithWritesItsPeerLacksRefusesToBecomeTheTargetAndKeepsThem() {
        Simulation sim = new Simulation(11, Simulation.Options.of(ReplicationProtocol.A));
        sim.node(ALPHA).startSmaller(HALF);
        sim.node(BETA).startSmaller(HALF);
        sim.bootInSyncWithPrimary(ALPHA);
        sim.network().partitionOneWay(ALPHA, true);
        long write = sim.write(ALPHA, 5, 1, false);
        sim.waitFor(() -> sim.completion(write) != null, 500 * MS, "the write, acknowledged on sending");
        assertEquals(0, sim.completion(write));
        long written = sim.valueOn(ALPHA, 5);
        CommandResult demoted = sim.commandAndWait(sim.node(ALPHA), new Command.Secondary(false, false), 500 * MS);
        assertTrue(demoted != null && demoted.done(), demoted == null ? "no answer" : demoted.reason());
        CommandResult asked = sim.node(BETA).command(new Command.Resize(0, false, false));
        assertTrue(asked.isPending(), asked.reason());
        sim.runFor(20 * MS);
        assertEquals(HALF, sim.node(ALPHA).dataBytes(), "alpha took the new area");
        assertEquals(DiskState.UP_TO_DATE, sim.node(ALPHA).status().disk());
        // The DATA alpha sent is lost with the connection.
        sim.network().cut();
        sim.waitFor(() -> sim.node(ALPHA).status().connection() != ConnectionState.CONNECTED, 500 * MS, "the cut");
        sim.network().partitionOneWay(ALPHA, false);
        sim.awaitInSync();
        sim.heal();
        assertEquals(written, sim.valueOn(ALPHA, 5), "alpha's acknowledged write");
        assertEquals(written, sim.valueOn(BETA, 5), "alpha's acknowledged write, on beta");
    }
}
