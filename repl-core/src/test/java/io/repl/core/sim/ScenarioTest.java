package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import io.repl.protocol.MessageType;
import io.repl.protocol.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Scripted scenarios on the simulator: the same nodes, network, disks and invariant checks as
 * the random runs, driven step by step.
 */
class ScenarioTest {
    private static final long MS = Simulation.MS;
    private static final int ALPHA = 0;
    private static final int BETA = 1;

    private static Simulation pair(ReplicationProtocol protocol) {
        Simulation sim = new Simulation(7, Simulation.Options.of(protocol));
        sim.bootPair();
        sim.waitFor(sim::bothConnectedEstablished, 1000 * MS, "first handshake");
        return sim;
    }

    private static CoreStatus status(Simulation sim, int node) {
        return sim.node(node).status();
    }

    private static void awaitInSync(Simulation sim) {
        sim.awaitInSync();
    }

    private static void awaitCompleted(Simulation sim, long request) {
        sim.waitFor(() -> sim.completion(request) != null, 2000 * MS, "request " + request);
        assertEquals(0, sim.completion(request));
    }

    @Test
    void initialFullSyncMakesTheForcedPrimarysPeerIdentical() {
        Simulation sim = pair(ReplicationProtocol.C);
        assertEquals(DiskState.INCONSISTENT, status(sim, ALPHA).disk());
        CommandResult refused = sim.promoteNow(ALPHA);
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, refused.exitCode());
        assertTrue(sim.node(ALPHA).command(new Command.Primary(true)).done());
        sim.waitFor(() -> status(sim, BETA).replication() == ReplicationState.SYNC_TARGET, 500 * MS, "SyncTarget");
        long write = sim.write(ALPHA, 10, 4, false);
        awaitInSync(sim);
        awaitCompleted(sim, write);
        assertTrue(sim.network().count(MessageType.RS_DATA) > 0, "a full sync sends the whole volume");
        assertEquals(Role.PRIMARY, status(sim, ALPHA).role());
        sim.heal();
        assertEquals(sim.valueOn(ALPHA, 11), sim.valueOn(BETA, 11));
    }

    @Test
    void clearBitmapSkipsTheInitialSync() {
        Simulation sim = pair(ReplicationProtocol.C);
        assertTrue(sim.node(ALPHA).command(new Command.NewCurrentUuidClearBitmap()).done());
        awaitInSync(sim);
        assertEquals(0, sim.network().count(MessageType.RS_REQUEST));
        assertTrue(sim.promoteNow(BETA).done());
    }

    private static Simulation inSyncPair(ReplicationProtocol protocol) {
        Simulation sim = pair(protocol);
        sim.node(ALPHA).command(new Command.NewCurrentUuidClearBitmap());
        awaitInSync(sim);
        assertTrue(sim.promoteNow(ALPHA).done());
        sim.runFor(5 * MS);
        return sim;
    }

    @Test
    void failoverAfterTheCrashOfThePrimaryLosesNoAcknowledgedWrite() {
        Simulation sim = inSyncPair(ReplicationProtocol.C);
        long[] writes = new long[20];
        for (int i = 0; i < writes.length; i++) {
            writes[i] = sim.write(ALPHA, 3 * i, 2, false);
        }
        for (long write : writes) {
            awaitCompleted(sim, write);
        }
        sim.crash(ALPHA, false);
        sim.waitFor(() -> status(sim, BETA).connection() != ConnectionState.CONNECTED, 1000 * MS, "ping timeout");
        for (int i = 0; i < writes.length; i++) {
            assertTrue(sim.valueOn(BETA, 3 * i) > 0, "acknowledged block " + 3 * i + " is on the Secondary");
        }
        CommandResult refused = sim.promoteNow(BETA);
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, refused.exitCode(),
                "lost without a goodbye: beta cannot know alpha did not write alone");
        assertTrue(refused.reason().contains("lost alpha"), refused.reason());
        assertTrue(sim.node(BETA).command(new Command.Primary(true)).done(), "the operator knows alpha is dead");
        long later = sim.write(BETA, 100, 3, false);
        awaitCompleted(sim, later);
        sim.node(ALPHA).boot();
        sim.waitFor(() -> status(sim, ALPHA).replication() == ReplicationState.SYNC_TARGET
                || status(sim, ALPHA).disk() == DiskState.UP_TO_DATE && status(sim, ALPHA).connection()
                == ConnectionState.CONNECTED, 2000 * MS, "old Primary resyncs");
        awaitInSync(sim);
        assertEquals(Role.SECONDARY, status(sim, ALPHA).role());
        assertEquals(sim.valueOn(BETA, 101), sim.valueOn(ALPHA, 101));
        sim.heal();
    }

    @Test
    void reconnectResyncsOnlyWhatChanged() {
        Simulation sim = inSyncPair(ReplicationProtocol.C);
        sim.network().partition(true, true);
        sim.waitFor(() -> status(sim, ALPHA).connection() != ConnectionState.CONNECTED, 1000 * MS, "cut");
        for (int i = 0; i < 5; i++) {
            awaitCompleted(sim, sim.write(ALPHA, 40 + 10 * i, 2, false));
        }
        assertEquals(10 * 4096, status(sim, ALPHA).outOfSyncBytes(), "the bitmap holds exactly the 10 blocks");
        long before = sim.network().count(MessageType.RS_DATA);
        sim.network().partition(false, false);
        awaitInSync(sim);
        long sent = sim.network().count(MessageType.RS_DATA) - before;
        assertTrue(sent >= 5 && sent <= 10, "resync sent " + sent + " RS_DATA for 5 dirty runs");
        assertEquals(sim.valueOn(ALPHA, 80), sim.valueOn(BETA, 80));
        sim.heal();
    }

    @Test
    void splitBrainIsDetectedAndNeverMerged() {
        Simulation sim = inSyncPair(ReplicationProtocol.C);
        sim.network().partition(true, true);
        sim.waitFor(() -> status(sim, BETA).connection() != ConnectionState.CONNECTED, 1000 * MS, "cut");
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, sim.promoteNow(BETA).exitCode(),
                "beta lost its Primary without a goodbye");
        // Only an operator's --force can make both write: the split brain is then detected.
        assertTrue(sim.node(BETA).command(new Command.Primary(true)).done());
        awaitCompleted(sim, sim.write(ALPHA, 5, 1, false));
        awaitCompleted(sim, sim.write(BETA, 6, 1, false));
        sim.network().partition(false, false);
        sim.waitFor(() -> status(sim, ALPHA).connection() == ConnectionState.STAND_ALONE
                && status(sim, BETA).connection() == ConnectionState.STAND_ALONE, 2000 * MS, "split brain");
        assertEquals(0, sim.network().count(MessageType.RS_DATA) + sim.network().count(MessageType.RS_REQUEST),
                "nothing was resynced");
        assertTrue(status(sim, ALPHA).standAloneReason().startsWith("split brain"), "status says why");
        assertTrue(sim.valueOn(ALPHA, 5) != sim.valueOn(BETA, 5));
        // The operator keeps alpha's changes: beta is demoted and discards its own.
        assertTrue(sim.node(BETA).command(new Command.Secondary(false, false)).done());
        assertTrue(sim.connectDiscardingMyData(BETA).done());
        assertTrue(sim.node(ALPHA).command(new Command.Connect(false)).done());
        awaitInSync(sim);
        assertEquals(sim.valueOn(ALPHA, 5), sim.valueOn(BETA, 5));
        assertEquals(sim.valueOn(ALPHA, 6), sim.valueOn(BETA, 6));
        assertEquals(0, sim.valueOn(ALPHA, 6), "beta's write to block 6 was discarded");
    }

    @ParameterizedTest
    @EnumSource(ReplicationProtocol.class)
    void acknowledgementPointsFollowTheProtocol(ReplicationProtocol protocol) {
        Simulation sim = inSyncPair(protocol);
        // The peer's disk stalls: protocol C must wait for it, A and B must not.
        sim.node(BETA).stall(true);
        long slowPeerDisk = sim.write(ALPHA, 1, 1, false);
        sim.runFor(50 * MS);
        if (protocol == ReplicationProtocol.C) {
            assertNull(sim.completion(slowPeerDisk), "protocol C waits for the peer's disk");
        } else {
            assertNotNull(sim.completion(slowPeerDisk), "protocol " + protocol + " does not wait for the peer's disk");
        }
        sim.node(BETA).stall(false);
        awaitCompleted(sim, slowPeerDisk);
        // Nothing reaches the peer: only protocol A may acknowledge.
        sim.network().hold(BETA, true);
        long unsent = sim.write(ALPHA, 2, 1, false);
        sim.runFor(50 * MS);
        if (protocol == ReplicationProtocol.A) {
            assertNotNull(sim.completion(unsent), "protocol A acknowledges once DATA is handed to the network");
        } else {
            assertNull(sim.completion(unsent), "protocol " + protocol + " waits for the peer");
        }
        sim.network().hold(BETA, false);
        awaitCompleted(sim, unsent);
        sim.heal();
    }

    @Test
    void flushWaitsForThePeersBarrierAck() {
        Simulation sim = inSyncPair(ReplicationProtocol.C);
        awaitCompleted(sim, sim.write(ALPHA, 9, 1, false));
        sim.network().hold(ALPHA, true);
        long flush = sim.flush(ALPHA);
        sim.runFor(50 * MS);
        assertNull(sim.completion(flush), "the flush waits for BARRIER_ACK");
        sim.network().hold(ALPHA, false);
        awaitCompleted(sim, flush);
    }

    @Test
    void refusalsCarryTheReasonAndTheExitCode() {
        Simulation sim = inSyncPair(ReplicationProtocol.C);
        CommandResult twoPrimaries = sim.promoteNow(BETA);
        assertEquals(CommandResult.REFUSED, twoPrimaries.exitCode());
        assertTrue(twoPrimaries.reason().contains("Primary"));
        assertFalse(twoPrimaries.nextStep().isEmpty());
        CommandResult writers = sim.node(ALPHA).command(new Command.Secondary(false, true));
        assertEquals(CommandResult.REFUSED, writers.exitCode());
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(true, true)).done());
        assertEquals(Role.SECONDARY, status(sim, ALPHA).role());
    }

    @Test
    void differentSizesRefuseTheConnection() {
        Simulation sim = new Simulation(7, new Simulation.Options(ReplicationProtocol.C, 1L << 20, 2L << 20, 0,
                io.repl.core.replication.FailoverPolicy.defaults()));
        sim.bootPair();
        sim.waitFor(() -> status(sim, ALPHA).connection() == ConnectionState.STAND_ALONE
                && status(sim, BETA).connection() == ConnectionState.STAND_ALONE, 1000 * MS, "refusal");
        assertTrue(sim.node(ALPHA).recentLog().contains("device sizes differ"));
    }
}
