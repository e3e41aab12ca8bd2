package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.Command;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.Test;

/**
 * A resync interrupted part way (the link drops, or either node is killed or loses power)
 * resumes from what is left instead of starting over, for a full sync and for a bitmap resync,
 * and ends with identical copies. The bytes the resumed resync sends are measured against what
 * was left when it was interrupted.
 */
class ResyncResumeScenarioTest {
    private static final long MS = Simulation.MS;
    private static final int ALPHA = 0;
    private static final int BETA = 1;
    private static final long VOLUME = 64L << 20;
    private static final int BLOCKS = (int) (VOLUME / BlockPattern.BLOCK_BYTES);

    private static Simulation world() {
        Simulation sim = new Simulation(11, new Simulation.Options(ReplicationProtocol.C, VOLUME, VOLUME, 0,
                FailoverPolicy.defaults()));
        sim.bootPair();
        sim.waitFor(sim::bothConnectedEstablished, 1000 * MS, "first handshake");
        return sim;
    }

    /** A full initial sync from alpha (promoted with --force), stopped when about half is left. */
    private static Simulation halfwayThroughFullSync() {
        Simulation sim = world();
        assertTrue(sim.node(ALPHA).command(new Command.Primary(true)).done());
        awaitHalfway(sim, BLOCKS);
        return sim;
    }

    private static void awaitHalfway(Simulation sim, int blocks) {
        long deadline = sim.now() + 5000 * MS;
        while (sim.node(BETA).status().replication() != ReplicationState.SYNC_TARGET
                || sim.node(BETA).metadata().bitmap().dirtyBlocks() >= blocks / 2) {
            assertTrue(sim.now() < deadline, "half synced: " + sim.node(BETA).status());
            sim.runFor(MS / 5);
        }
    }

    /** A bitmap resync of 3/4 of the volume after a partition, stopped when about half is left. */
    private static Simulation halfwayThroughBitmapResync() {
        Simulation sim = world();
        assertTrue(sim.node(ALPHA).command(new Command.NewCurrentUuidClearBitmap()).done());
        sim.awaitInSync();
        assertTrue(sim.promoteNow(ALPHA).done());
        sim.awaitInSync();
        sim.network().partition(true, true);
        sim.waitFor(() -> sim.node(ALPHA).status().connection() != ConnectionState.CONNECTED, 1000 * MS, "cut");
        int dirty = BLOCKS * 3 / 4;
        for (int first = 0; first < dirty; first += 16) {
            long id = sim.write(ALPHA, first, 16, false);
            sim.waitFor(() -> sim.completion(id) != null, 2000 * MS, "write");
        }
        assertEquals((long) dirty * 4096, sim.node(ALPHA).status().outOfSyncBytes());
        // The source is a Secondary: a Primary killed would also resend its activity log's extents.
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        sim.network().partition(false, false);
        awaitHalfway(sim, dirty);
        return sim;
    }

    /** Interrupts the resync with {@code fault}, lets it resume, and checks what it sent. */
    private static void interruptAndResume(Simulation sim, IntConsumer fault, int node, long boundBlocksExtra) {
        long leftAtInterruption = sim.node(BETA).metadata().bitmap().dirtyBlocks();
        long before = sim.network().resyncBytes();
        fault.accept(node);
        if (!sim.node(node).up()) {
            sim.runFor(50 * MS);
            sim.node(node).boot();
        }
        long deadline = sim.now() + 2000 * MS;
        while (sim.node(BETA).status().replication() != ReplicationState.SYNC_TARGET) {
            assertTrue(sim.now() < deadline, "resumed: " + sim.node(BETA).status());
            sim.runFor(MS / 5);
        }
        long carried = sim.node(BETA).metadata().bitmap().dirtyBlocks();
        sim.awaitInSync();
        long sentAfter = sim.network().resyncBytes() - before;

        // Bits cleared in the last tick before a crash are not on disk yet: at most that is redone.
        assertTrue(carried <= leftAtInterruption + boundBlocksExtra, "the target came back with " + carried
                + " blocks to fetch, " + leftAtInterruption + " were left");
        assertTrue(sentAfter <= (carried + boundBlocksExtra) * 4096 + 64 * 1024, "the resumed resync sent " + sentAfter + " bytes for "
                + carried + " blocks left; the volume has " + VOLUME);
        assertTrue(sentAfter > 0, "something was left to send");
        assertEquals(java.util.List.of(), sim.node(ALPHA).disk().differingBlocks(sim.node(BETA).disk()));
        assertEquals(DiskState.UP_TO_DATE, sim.node(BETA).status().disk());
        sim.heal();
    }

    @Test
    void fullSyncResumesAfterADisconnect() {
        Simulation sim = halfwayThroughFullSync();
        interruptAndResume(sim, n -> {
            assertTrue(sim.node(n).command(new Command.Disconnect()).done());
            sim.waitFor(() -> sim.node(ALPHA).status().connection() != ConnectionState.CONNECTED, 1000 * MS, "cut");
            assertTrue(sim.node(n).command(new Command.Connect(false)).done());
        }, BETA, 0);
    }

    @Test
    void fullSyncResumesAfterTheTargetIsKilled() {
        Simulation sim = halfwayThroughFullSync();
        interruptAndResume(sim, n -> sim.kill(n, true), BETA, BLOCKS / 8);
    }

    @Test
    void fullSyncResumesAfterTheTargetLosesPower() {
        Simulation sim = halfwayThroughFullSync();
        interruptAndResume(sim, n -> sim.crash(n, true), BETA, BLOCKS / 8);
    }

    @Test
    void fullSyncResumesAfterTheSourceIsKilled() {
        Simulation sim = halfwayThroughFullSync();
        interruptAndResume(sim, n -> sim.kill(n, true), ALPHA, BLOCKS / 8);
        assertEquals(ReplicationState.ESTABLISHED, sim.node(ALPHA).status().replication());
    }

    @Test
    void bitmapResyncResumesAfterTheTargetIsKilled() {
        Simulation sim = halfwayThroughBitmapResync();
        interruptAndResume(sim, n -> sim.kill(n, true), BETA, BLOCKS / 8);
    }

    @Test
    void bitmapResyncResumesAfterTheSourceIsKilled() {
        Simulation sim = halfwayThroughBitmapResync();
        interruptAndResume(sim, n -> sim.kill(n, true), ALPHA, BLOCKS / 8);
    }

    @Test
    void theInterruptedTargetNeverBecomesASource() {
        Simulation sim = halfwayThroughFullSync();
        sim.kill(ALPHA, true);
        sim.runFor(300 * MS);
        // The target alone: Inconsistent, nothing to promote without --force.
        assertEquals(DiskState.INCONSISTENT, sim.node(BETA).status().disk());
        assertNotEquals(0, sim.promoteNow(BETA).exitCode());
        // The source comes back Consistent, from before its crash; the target still fetches from it.
        sim.node(ALPHA).boot();
        sim.waitFor(() -> sim.node(BETA).status().replication() == ReplicationState.SYNC_TARGET, 1000 * MS,
                "resumed");
        sim.awaitInSync();
        assertEquals(java.util.List.of(), sim.node(ALPHA).disk().differingBlocks(sim.node(BETA).disk()));
        sim.heal();
    }
}
