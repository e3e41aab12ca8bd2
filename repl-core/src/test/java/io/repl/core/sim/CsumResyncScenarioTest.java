package io.repl.core.sim;

import static io.repl.core.sim.Simulation.MS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.Command;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.core.replication.ConnectionState;
import io.repl.protocol.DiskState;
import io.repl.protocol.Features;
import io.repl.protocol.MessageType;
import io.repl.protocol.Role;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Checksum resync ({@code csums}) and zero blocks, scripted: identical copies move no data,
 * differing pieces move theirs, a Primary SyncTarget's own writes overtake answers, a source
 * that cannot read leaves the bits, and a peer without the feature resyncs plainly.
 */
class CsumResyncScenarioTest {
    private static final int ALPHA = 0;
    private static final int BETA = 1;
    /** 1 MiB volume: 256 blocks, 32 pieces of 32 KiB. */
    private static final int BLOCKS = 256;
    private static final int PIECE_BLOCKS = 8;

    /** An in-sync pair, alpha Primary, every block written once; csums as given on each node. */
    private static Simulation pair(boolean alphaCsums, boolean betaCsums, int features) {
        Simulation sim = new Simulation(11, new Simulation.Options(ReplicationProtocol.C, BLOCKS * 4096L,
                BLOCKS * 4096L, 0, FailoverPolicy.defaults()));
        boolean[] csums = {alphaCsums, betaCsums};
        for (int i = 0; i < 2; i++) {
            SimNode node = sim.node(i);
            node.reconfigure(node.config().withSync(node.config().sync().withCsums(csums[i])));
            node.features(features);
        }
        sim.bootPair();
        sim.waitFor(sim::bothConnectedEstablished, 1000 * MS, "first handshake");
        sim.node(ALPHA).command(new Command.NewCurrentUuidClearBitmap());
        sim.awaitInSync();
        assertTrue(sim.promoteNow(ALPHA).done());
        List<Long> writes = new ArrayList<>();
        for (int block = 0; block < BLOCKS; block += 16) {
            writes.add(sim.write(ALPHA, block, 16, false));
        }
        for (long write : writes) {
            sim.waitFor(() -> sim.completion(write) != null, 2000 * MS, "write " + write);
            assertEquals(0, sim.completion(write));
        }
        return sim;
    }

    private static Simulation pair(boolean csums) {
        return pair(csums, csums, Features.OFFERED);
    }

    private static CoreStatus status(Simulation sim, int node) {
        return sim.node(node).status();
    }

    private static void invalidateBeta(Simulation sim) {
        assertTrue(sim.node(BETA).command(new Command.Invalidate()).done());
        sim.waitFor(() -> status(sim, BETA).replication() == ReplicationState.SYNC_TARGET, 1000 * MS, "resync starts");
        sim.awaitInSync();
    }

    private static void assertCopiesEqual(Simulation sim) {
        for (int block = 0; block < BLOCKS; block++) {
            assertTrue(sim.valueOn(ALPHA, block) > 0, "block " + block + " holds a write");
            assertEquals(sim.valueOn(ALPHA, block), sim.valueOn(BETA, block), "block " + block);
        }
    }

    /** Writes garbage into {@code block} of {@code node}'s disk behind its core's back. */
    private static void corrupt(Simulation sim, int node, int block) {
        sim.node(node).disk().write((long) block * 4096, BlockPattern.blocks(block, new long[] {987_654_321L}), true);
    }

    @Test
    void identicalCopiesResyncWithoutData() {
        Simulation sim = pair(true);
        long rsDataBefore = sim.network().count(MessageType.RS_DATA);
        invalidateBeta(sim);
        assertEquals(BLOCKS / PIECE_BLOCKS, sim.resyncAnswers("csum-in-sync"), "every piece in sync");
        assertEquals(0, sim.resyncAnswers("csum-differs"));
        assertEquals(rsDataBefore, sim.network().count(MessageType.RS_DATA), "no block travelled");
        assertEquals(BLOCKS / PIECE_BLOCKS, sim.network().count(MessageType.CSUM_REQUEST));
        assertCopiesEqual(sim);
        assertEquals(0, status(sim, BETA).outOfSyncBytes());
        assertEquals(DiskState.UP_TO_DATE, status(sim, BETA).disk());
    }

    @Test
    void onlyThePiecesThatDifferCarryTheSourcesBytes() {
        Simulation sim = pair(true);
        corrupt(sim, BETA, 5);
        corrupt(sim, BETA, 6);
        corrupt(sim, BETA, 200);
        assertNotEquals(sim.valueOn(ALPHA, 200), sim.valueOn(BETA, 200));
        invalidateBeta(sim);
        assertEquals(2, sim.resyncAnswers("csum-differs"), "pieces 0 and 25");
        assertEquals(BLOCKS / PIECE_BLOCKS - 2, sim.resyncAnswers("csum-in-sync"));
        assertCopiesEqual(sim);
    }

    @Test
    void aBitmapResyncWithChecksumsSendsWhatChanged() {
        Simulation sim = pair(true);
        sim.network().partition(true, true);
        sim.waitFor(() -> status(sim, ALPHA).connection() != ConnectionState.CONNECTED, 1000 * MS, "cut");
        long write = sim.write(ALPHA, 40, 2, false);
        sim.waitFor(() -> sim.completion(write) != null, 2000 * MS, "write alone");
        sim.network().partition(false, false);
        sim.awaitInSync();
        assertEquals(1, sim.resyncAnswers("csum-differs"), "the two dirty blocks, one piece");
        assertEquals(0, sim.resyncAnswers("csum-in-sync"));
        assertCopiesEqual(sim);
    }

    @Test
    void withoutTheFeatureTheTargetAsksForTheDataPlainly() {
        Simulation sim = pair(true, true, Features.OFFERED & ~Features.CSUM_RESYNC);
        invalidateBeta(sim);
        assertEquals(0, sim.network().count(MessageType.CSUM_REQUEST));
        assertTrue(sim.resyncAnswers("data") > 0, "RS_DATA carried the volume");
        assertCopiesEqual(sim);
    }

    @Test
    void theTargetsConfigurationDecides() {
        Simulation sim = pair(false, true, Features.OFFERED);
        invalidateBeta(sim);
        assertEquals(BLOCKS / PIECE_BLOCKS, sim.resyncAnswers("csum-in-sync"),
                "beta asks with checksums although alpha does not have csums configured");
        assertCopiesEqual(sim);
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        sim.runFor(20 * MS);
        assertTrue(sim.promoteNow(BETA).done());
        long before = sim.network().count(MessageType.CSUM_REQUEST);
        assertTrue(sim.node(ALPHA).command(new Command.Invalidate()).done());
        sim.waitFor(() -> status(sim, ALPHA).replication() == ReplicationState.SYNC_TARGET, 1000 * MS, "resync");
        sim.awaitInSync();
        assertEquals(before, sim.network().count(MessageType.CSUM_REQUEST), "alpha, without csums, asks plainly");
        assertCopiesEqual(sim);
    }

    @Test
    void aSourceThatCannotReadLeavesTheBitsAndTheResyncEndsOnceItCan() {
        Simulation sim = pair(true);
        sim.node(ALPHA).failReadsOf(100, true);
        assertTrue(sim.node(BETA).command(new Command.Invalidate()).done());
        sim.waitFor(() -> status(sim, BETA).connection() != ConnectionState.CONNECTED, 3000 * MS,
                "the target gives up after its passes");
        assertEquals(DiskState.INCONSISTENT, status(sim, BETA).disk());
        assertEquals(PIECE_BLOCKS * 4096L, status(sim, BETA).outOfSyncBytes(), "only the unreadable piece is left");
        sim.node(ALPHA).failReadsOf(100, false);
        sim.awaitInSync();
        assertCopiesEqual(sim);
    }

    @Test
    void writesOfAPrimarySyncTargetOvertakeItsChecksumRequests() {
        Simulation sim = pair(true);
        // Alpha's disk fails a write: it detaches and serves through beta, then attaches the
        // disk again and resyncs it as a Primary SyncTarget with checksums.
        sim.node(ALPHA).failWrites(true);
        long failing = sim.write(ALPHA, 20, 4, false);
        sim.waitFor(() -> sim.completion(failing) != null, 2000 * MS, "the write goes to the peer");
        assertEquals(DiskState.DISKLESS, status(sim, ALPHA).disk());
        sim.waitFor(() -> sim.node(ALPHA).detachedDiskReleased(), 1000 * MS, "released");
        assertTrue(sim.node(ALPHA).attachHealedDisk().done());
        sim.waitFor(() -> status(sim, ALPHA).replication() == ReplicationState.SYNC_TARGET, 1000 * MS, "resync");
        sim.network().hold(BETA, true);
        sim.runFor(5 * MS);
        List<Long> writes = new ArrayList<>();
        for (int block = 0; block < BLOCKS; block += 32) {
            writes.add(sim.write(ALPHA, block + 3, 2, false));
        }
        sim.runFor(5 * MS);
        sim.network().hold(BETA, false);
        for (long write : writes) {
            sim.waitFor(() -> sim.completion(write) != null, 2000 * MS, "write " + write);
            assertEquals(0, sim.completion(write));
        }
        sim.awaitInSync();
        assertEquals(Role.PRIMARY, status(sim, ALPHA).role());
        assertCopiesEqual(sim);
        assertTrue(sim.resyncAnswers("csum-in-sync") > 0, "most pieces matched");
    }

    @Test
    void aFullSyncOfZeroesSendsZeroBlocks() {
        Simulation sim = new Simulation(11, Simulation.Options.of(ReplicationProtocol.C));
        sim.bootPair();
        sim.waitFor(sim::bothConnectedEstablished, 1000 * MS, "first handshake");
        assertTrue(sim.node(ALPHA).command(new Command.Primary(true)).done());
        sim.awaitInSync();
        assertTrue(sim.resyncAnswers("zero-block") > 0, "the untouched volume went as zero blocks");
        assertEquals(0, sim.resyncAnswers("data"));
        for (int block = 0; block < BLOCKS; block++) {
            assertEquals(sim.valueOn(ALPHA, block), sim.valueOn(BETA, block), "block " + block);
        }
    }
}
