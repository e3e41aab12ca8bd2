package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.Command;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.RateControl;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.core.replication.SyncProgress;
import org.junit.jupiter.api.Test;

/**
 * The resync rate controller in the simulated world: a full sync of 4 MiB at the ceiling, held
 * at the floor by continuous application writes without starving, and climbing back within
 * the horizon when the writes stop. Durations are of the simulator's clock, exact for a seed.
 */
class ResyncRateScenarioTest {
    private static final long MS = Simulation.MS;
    private static final long MIB = 1L << 20;
    private static final long VOLUME = 4 * MIB;
    private static final int ALPHA = 0;
    private static final int BETA = 1;
    private static final long FILL = 64 << 10;

    private static Simulation fullSync(RateControl rate) {
        Simulation sim = new Simulation(11, new Simulation.Options(ReplicationProtocol.C, VOLUME, VOLUME, 0,
                FailoverPolicy.defaults()).with(rate));
        sim.bootPair();
        sim.waitFor(sim::bothConnectedEstablished, 1000 * MS, "first handshake");
        assertTrue(sim.node(ALPHA).command(new Command.Primary(true)).done());
        sim.waitFor(BETA_SYNCING.apply(sim), 500 * MS, "SyncTarget");
        return sim;
    }

    private static final java.util.function.Function<Simulation, java.util.function.BooleanSupplier> BETA_SYNCING =
            sim -> () -> sim.node(BETA).status().replication() == ReplicationState.SYNC_TARGET;

    private static SyncProgress betaSync(Simulation sim) {
        return sim.node(BETA).status().sync();
    }

    @Test
    void withoutApplicationWritesAFullSyncRunsAtTheCeiling() {
        Simulation sim = fullSync(new RateControl(1 * MIB, 32 * MIB, 100 * MS, FILL, 0));
        long start = sim.now();
        while (BETA_SYNCING.apply(sim).getAsBoolean()) {
            SyncProgress sync = betaSync(sim);
            assertTrue(sync.inFlightBytes() <= FILL, "in flight " + sync.inFlightBytes());
            assertTrue(sync.controllerBytesPerSecond() <= 32 * MIB);
            sim.runFor(5 * MS);
            assertTrue(sim.now() - start < 5000 * MS, "the sync ends");
        }
        assertSyncedAt(sim, start, 32 * MIB, 90, "no faster than the ceiling, and not much slower");
    }

    @Test
    void anAdjustedCeilingHoldsFromTheNextResyncOnTheTarget() {
        Simulation sim = new Simulation(11, new Simulation.Options(ReplicationProtocol.C, VOLUME, VOLUME, 0,
                FailoverPolicy.defaults()).with(new RateControl(1 * MIB, 32 * MIB, 100 * MS, FILL, 0)));
        sim.bootPair();
        sim.waitFor(sim::bothConnectedEstablished, 1000 * MS, "first handshake");
        // The SyncTarget paces the resync: its new ceiling governs the sync that follows.
        io.repl.core.replication.SyncPolicy slow = io.repl.core.replication.SyncPolicy.defaults()
                .withRate(new RateControl(1 * MIB, 8 * MIB, 100 * MS, FILL, 0));
        assertTrue(sim.node(BETA).command(new Command.Adjust(slow)).done());
        assertTrue(sim.node(ALPHA).command(new Command.Primary(true)).done());
        sim.waitFor(BETA_SYNCING.apply(sim), 500 * MS, "SyncTarget");
        long start = sim.now();
        while (BETA_SYNCING.apply(sim).getAsBoolean()) {
            SyncProgress sync = betaSync(sim);
            assertTrue(sync.controllerBytesPerSecond() <= 8 * MIB, "rate " + sync.controllerBytesPerSecond());
            sim.runFor(5 * MS);
            assertTrue(sim.now() - start < 5000 * MS, "the sync ends");
        }
        assertSyncedAt(sim, start, 8 * MIB, 90, "no faster than the adjusted ceiling, and not much slower");
    }

    /** The sync took between {@code lowPercent}% and 150% of the time the whole volume takes at {@code rate}. */
    private static void assertSyncedAt(Simulation sim, long start, long rate, int lowPercent, String what) {
        long elapsed = sim.now() - start;
        long atRate = VOLUME * 1_000_000_000L / rate;
        assertTrue(elapsed >= atRate * lowPercent / 100 && elapsed <= atRate * 3 / 2,
                what + ": " + elapsed / MS + " ms, " + atRate / MS + " ms at " + rate + " bytes/s");
        sim.awaitInSync();
        sim.heal();
    }

    @Test
    void continuousApplicationWritesHoldTheSyncAtTheFloorAndItStillFinishes() {
        Simulation sim = fullSync(new RateControl(1 * MIB, 256 * MIB, 100 * MS, FILL, 0));
        long start = sim.now();
        int block = 0;
        while (BETA_SYNCING.apply(sim).getAsBoolean()) {
            sim.write(ALPHA, block, 1, false);
            block = (block + 7) % (int) (VOLUME / 4096);
            sim.runFor(2 * MS);
            SyncProgress sync = betaSync(sim);
            if (sync != null && sim.now() - start > 20 * MS) {
                // (After the first DATA reached the SyncTarget.)
                assertEquals(1 * MIB, sync.controllerBytesPerSecond(), "the resync yields to the writes");
                assertTrue(sync.inFlightBytes() <= FILL, "in flight " + sync.inFlightBytes());
            }
            assertTrue(sim.now() - start < 10_000 * MS, "the sync ends while the writes go on");
        }
        assertSyncedAt(sim, start, 1 * MIB, 80, "held near the floor, never starved below it");
    }

    @Test
    void whenTheWritesStopTheRateClimbsBackOverTheHorizon() {
        // A fill target the simulated pipe cannot fill below the ceiling, so the ceiling binds.
        Simulation sim = fullSync(new RateControl(1 * MIB, 8 * MIB, 200 * MS, 1 * MIB, 0));
        for (int i = 0; i < 50; i++) {
            sim.write(ALPHA, i, 1, false);
            sim.runFor(2 * MS);
        }
        assertEquals(1 * MIB, betaSync(sim).controllerBytesPerSecond());
        sim.runFor(150 * MS);
        long halfway = betaSync(sim).controllerBytesPerSecond();
        assertTrue(halfway > 1 * MIB && halfway < 8 * MIB, "part of the way after half the horizon: " + halfway);
        sim.runFor(200 * MS);
        assertEquals(8 * MIB, betaSync(sim).controllerBytesPerSecond(), "the ceiling after the horizon");
        sim.awaitInSync();
        sim.heal();
    }
}
