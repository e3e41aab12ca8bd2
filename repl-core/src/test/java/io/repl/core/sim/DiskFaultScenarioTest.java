package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.Errno;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A failing metadata device and a failing flush, scripted on the simulator: every request
 * still open gets an answer (EIO), the node ends Failed with the reason in its status, a
 * Primary hands over with a goodbye so its peer is promoted without --force, and after the
 * operator restarts the node on a repaired disk the pair heals with every acknowledged write.
 */
class DiskFaultScenarioTest {
    private static final long MS = Simulation.MS;
    private static final int ALPHA = 0;
    private static final int BETA = 1;
    /** The simulator's activity-log extents are 1 MiB: 256 blocks of 4 KiB. */
    private static final int EXTENT_BLOCKS = 256;
    private static final int EXTENTS = 8;

    /** An in-sync pair, alpha Primary, on volumes of several extents, so writes need AL transactions. */
    private static Simulation world() {
        return world(io.repl.core.replication.CoreConfig.OnIoError.DETACH);
    }

    private static CoreStatus status(Simulation sim, int node) {
        return sim.node(node).status();
    }

    /** One write into each extent, so that hot extents are evicted and the activity log is written. */
    private static List<Long> writeAcrossExtents(Simulation sim, int node, int offsetInExtent) {
        List<Long> ids = new ArrayList<>();
        for (int e = 0; e < EXTENTS; e++) {
            ids.add(sim.write(node, e * EXTENT_BLOCKS + offsetInExtent, 1, false));
        }
        return ids;
    }

    private static void awaitAnswers(Simulation sim, List<Long> ids) {
        sim.waitFor(() -> ids.stream().allMatch(id -> sim.completion(id) != null), 2000 * MS, "every request answered");
    }

    private static List<Integer> acknowledgedBlocks(Simulation sim, List<Long> ids, int offsetInExtent) {
        List<Integer> blocks = new ArrayList<>();
        for (int e = 0; e < ids.size(); e++) {
            if (sim.completion(ids.get(e)) == Errno.OK) {
                blocks.add(e * EXTENT_BLOCKS + offsetInExtent);
            }
        }
        return blocks;
    }

    @Test
    void aFailingMetadataDeviceOnThePrimaryFailsItsOpenRequestsAndHandsOverWithAGoodbye() {
        Simulation sim = world();
        List<Long> before = writeAcrossExtents(sim, ALPHA, 1);
        awaitAnswers(sim, before);
        List<Integer> ackedBefore = acknowledgedBlocks(sim, before, 1);
        assertEquals(EXTENTS, ackedBefore.size(), "a healthy pair acknowledges every write");

        sim.node(ALPHA).failMetadata();
        List<Long> during = writeAcrossExtents(sim, ALPHA, 2);
        awaitAnswers(sim, during);
        assertTrue(during.stream().anyMatch(id -> sim.completion(id) == Errno.EIO),
                "a write whose activity-log transaction failed is answered with EIO");
        sim.waitFor(() -> status(sim, ALPHA).disk() == DiskState.FAILED, 500 * MS, "alpha's disk Failed");
        CoreStatus alpha = status(sim, ALPHA);
        assertEquals(Role.SECONDARY, alpha.role(), "a Primary without a usable disk demotes");
        assertEquals(ConnectionState.STAND_ALONE, alpha.connection());
        assertNotNull(alpha.failover().diskNote(), "status says why the disk failed");
        assertTrue(alpha.failover().diskNote().contains("metadata"), alpha.failover().diskNote());
        long later = sim.write(ALPHA, 3, 1, false);
        sim.waitFor(() -> sim.completion(later) != null, 500 * MS, "a later write answered");
        assertEquals(Errno.EIO, sim.completion(later), "a Failed disk answers EIO, it does not hang");

        sim.waitFor(() -> status(sim, BETA).connection() != ConnectionState.CONNECTED, 500 * MS, "beta sees the close");
        assertEquals(DiskState.UP_TO_DATE, status(sim, BETA).disk(), "the goodbye keeps beta UpToDate");
        CommandResult refused = sim.node(ALPHA).command(new Command.Primary(true));
        assertFalse(refused.done(), "a Failed disk is never promoted, not even with --force");
        assertTrue(sim.promoteNow(BETA).done(), "beta is promoted without --force");
        List<Integer> acked = new ArrayList<>(ackedBefore);
        acked.addAll(acknowledgedBlocks(sim, during, 2));
        for (int block : acked) {
            assertTrue(sim.valueOn(BETA, block) > 0, "acknowledged block " + block + " is on beta");
        }
        List<Long> onBeta = writeAcrossExtents(sim, BETA, 4);
        awaitAnswers(sim, onBeta);
        assertEquals(EXTENTS, acknowledgedBlocks(sim, onBeta, 4).size(), "the new Primary serves");
        // The operator repairs alpha's metadata device and restarts it: it resyncs from beta.
        sim.heal();
        for (int block : acked) {
            assertEquals(sim.valueOn(BETA, block), sim.valueOn(ALPHA, block), "block " + block + " healed");
        }
    }

    @Test
    void aFailingMetadataDeviceOnTheSecondaryLeavesThePrimaryWritingAlone() {
        Simulation sim = world();
        sim.node(BETA).failMetadata();
        List<Long> writes = writeAcrossExtents(sim, ALPHA, 1);
        awaitAnswers(sim, writes);
        sim.waitFor(() -> status(sim, BETA).disk() == DiskState.FAILED, 500 * MS, "beta's disk Failed");
        assertTrue(status(sim, BETA).failover().diskNote().contains("metadata"), status(sim, BETA).failover().diskNote());
        assertEquals(EXTENTS, acknowledgedBlocks(sim, writes, 1).size(),
                "the Primary acknowledges alone once the Secondary's disk failed (it said goodbye)");
        assertEquals(Role.PRIMARY, status(sim, ALPHA).role());
        sim.heal();
        for (int e = 0; e < EXTENTS; e++) {
            int block = e * EXTENT_BLOCKS + 1;
            assertEquals(sim.valueOn(ALPHA, block), sim.valueOn(BETA, block), "block " + block + " resynced");
        }
    }

    @Test
    void aFailingFlushAnswersTheClientsFlushWithEioAndFailsTheDisk() {
        Simulation sim = world();
        List<Long> writes = writeAcrossExtents(sim, ALPHA, 1);
        awaitAnswers(sim, writes);
        sim.node(ALPHA).failFlushes();
        long flush = sim.flush(ALPHA);
        sim.waitFor(() -> sim.completion(flush) != null, 500 * MS, "the FLUSH answered");
        assertEquals(Errno.EIO, sim.completion(flush), "a flush that failed is not reported durable");
        sim.waitFor(() -> status(sim, ALPHA).disk() == DiskState.FAILED, 500 * MS, "alpha's disk Failed");
        assertTrue(status(sim, ALPHA).failover().diskNote().contains("flush"), status(sim, ALPHA).failover().diskNote());
        sim.waitFor(() -> status(sim, BETA).connection() != ConnectionState.CONNECTED, 500 * MS, "beta sees the close");
        assertTrue(sim.promoteNow(BETA).done(), "every acknowledged write is on beta, which alpha's goodbye says");
        sim.heal();
    }

    // ---------------------------------------------------------------- on-io-error

    /** A scripted pair, alpha Primary, on {@code onIoError}. */
    private static Simulation world(io.repl.core.replication.CoreConfig.OnIoError onIoError) {
        long bytes = (long) EXTENTS * EXTENT_BLOCKS * 4096;
        Simulation sim = new Simulation(23, new Simulation.Options(ReplicationProtocol.C, bytes, bytes, 0,
                FailoverPolicy.defaults()).withOnIoError(onIoError));
        sim.bootPair();
        sim.waitFor(sim::bothConnectedEstablished, 1000 * MS, "first handshake");
        sim.node(ALPHA).command(new Command.NewCurrentUuidClearBitmap());
        sim.awaitInSync();
        assertTrue(sim.promoteNow(ALPHA).done());
        sim.runFor(20 * MS);
        return sim;
    }

    /** Reads through {@code node} and expects what {@code holder}'s disk holds, every block written. */
    private static void assertReadsBack(Simulation sim, int node, int first, int count, int holder, String why) {
        long id = sim.read(node, first, count);
        sim.waitFor(() -> sim.completion(id) != null, 1000 * MS, "the read answered");
        assertEquals(Errno.OK, sim.completion(id), why);
        long[] got = sim.readBack(id, first);
        for (int i = 0; i < count; i++) {
            assertTrue(got[i] > 0, why + ": block " + (first + i) + " holds a write");
            assertEquals(sim.valueOn(holder, first + i), got[i], why + ": block " + (first + i));
        }
    }

    @Test
    void aFailedWriteOnThePrimaryDetachesItsDiskAndItServesEveryReadAndWriteThroughThePeer() {
        Simulation sim = world(io.repl.core.replication.CoreConfig.OnIoError.DETACH);
        long before = sim.write(ALPHA, 10, 4, false);
        awaitAnswers(sim, List.of(before));
        sim.node(ALPHA).failWrites(true);
        long failing = sim.write(ALPHA, 20, 4, false);
        awaitAnswers(sim, List.of(failing));
        assertEquals(Errno.OK, sim.completion(failing), "the write its disk failed is on the peer: acknowledged");
        CoreStatus alpha = status(sim, ALPHA);
        assertEquals(DiskState.DISKLESS, alpha.disk());
        assertEquals(Role.PRIMARY, alpha.role(), "a Diskless Primary goes on serving");
        assertTrue(alpha.failover().diskNote().contains("local write"), alpha.failover().toString());
        assertTrue(sim.node(ALPHA).detachedDiskReleased(), "nothing of the disk is in flight: released");
        assertEquals(DiskState.DISKLESS, status(sim, BETA).peerDisk());

        long after = sim.write(ALPHA, 30, 2, true);
        long flush = sim.flush(ALPHA);
        awaitAnswers(sim, List.of(after, flush));
        assertEquals(Errno.OK, sim.completion(after));
        assertEquals(Errno.OK, sim.completion(flush), "a flush made durable on the peer");
        assertReadsBack(sim, ALPHA, 10, 4, BETA, "written before the detach, read through the peer");
        assertReadsBack(sim, ALPHA, 20, 4, BETA, "the write the disk failed, read through the peer");
        assertTrue(sim.valueOn(BETA, 30) > 0, "beta holds the write made while Diskless");

        sim.network().partition(true, true);
        sim.waitFor(() -> status(sim, ALPHA).connection() != ConnectionState.CONNECTED, 1000 * MS, "cut");
        long lost = sim.read(ALPHA, 10, 1);
        long lostWrite = sim.write(ALPHA, 40, 1, false);
        awaitAnswers(sim, List.of(lost, lostWrite));
        assertEquals(Errno.EIO, sim.completion(lost), "no peer, no copy: EIO");
        assertEquals(Errno.EIO, sim.completion(lostWrite), "no peer, no copy: EIO");
        sim.network().partition(false, false);
        sim.waitFor(() -> status(sim, ALPHA).connection() == ConnectionState.CONNECTED
                && status(sim, BETA).disk() == DiskState.UP_TO_DATE, 2000 * MS, "back, and beta current again");
        assertReadsBack(sim, ALPHA, 30, 2, BETA, "served through the peer again");

        assertTrue(sim.node(ALPHA).attachHealedDisk().done());
        sim.awaitInSync();
        assertEquals(Role.PRIMARY, status(sim, ALPHA).role(), "resynced while it served");
        for (int block = 0; block < EXTENTS * EXTENT_BLOCKS; block++) {
            assertEquals(sim.valueOn(BETA, block), sim.valueOn(ALPHA, block), "block " + block + " after the resync");
        }
        assertReadsBack(sim, ALPHA, 20, 4, ALPHA, "from the resynced disk");
        assertReadsBack(sim, ALPHA, 30, 2, BETA, "from the resynced disk, as beta holds it");
    }

    /**
     * The disk a Primary detached from comes back by a restart, its metadata never having
     * recorded the detach (the metadata device failed first): it must be the resync target for
     * every write served through the peer meanwhile, never a source.
     */
    @Test
    void aDetachedDiskWhoseMetadataFailedComesBackByRestartAsTheTargetOfEveryWriteServedThroughThePeer() {
        Simulation sim = world(io.repl.core.replication.CoreConfig.OnIoError.DETACH);
        long before = sim.write(ALPHA, 10, 4, false);
        awaitAnswers(sim, List.of(before));
        sim.node(ALPHA).failMetadata();
        sim.node(ALPHA).failWrites(true);
        long failing = sim.write(ALPHA, 20, 4, false);
        awaitAnswers(sim, List.of(failing));
        assertEquals(Errno.OK, sim.completion(failing), "the write its disk failed is on the peer: acknowledged");
        assertEquals(DiskState.DISKLESS, status(sim, ALPHA).disk());
        assertTrue(sim.node(BETA).recentLog().contains("Primary without a disk: new generation"),
                sim.node(BETA).recentLog());
        // In an extent alpha's own activity log never held: only beta's bitmap can name it.
        int elsewhere = 5 * EXTENT_BLOCKS + 30;
        long through = sim.write(ALPHA, elsewhere, 2, false);
        awaitAnswers(sim, List.of(through));
        assertEquals(Errno.OK, sim.completion(through), "served through the peer");
        assertTrue(status(sim, BETA).outOfSyncBytes() >= 2 * 4096,
                "beta marks what the Diskless Primary writes: " + status(sim, BETA));
        long[] acknowledged = new long[EXTENTS * EXTENT_BLOCKS];
        for (int block = 0; block < acknowledged.length; block++) {
            acknowledged[block] = sim.valueOn(BETA, block);
        }

        // Partition by the operator, then the Primary dies; it is restarted on its old disk,
        // whose metadata still says Consistent in the generation the pair shared.
        assertTrue(sim.node(BETA).command(new Command.Disconnect()).done());
        sim.waitFor(() -> status(sim, ALPHA).connection() != ConnectionState.CONNECTED, 1000 * MS, "apart");
        sim.kill(ALPHA, true);
        sim.node(ALPHA).boot();
        assertTrue(sim.node(BETA).command(new Command.Connect(false)).done());
        sim.awaitInSync();
        assertTrue(sim.node(ALPHA).recentLog().contains("SYNC_TARGET"), sim.node(ALPHA).recentLog());
        for (int block = 0; block < acknowledged.length; block++) {
            assertEquals(acknowledged[block], sim.valueOn(BETA, block), "block " + block + " kept on beta");
            assertEquals(acknowledged[block], sim.valueOn(ALPHA, block), "block " + block + " resynced to alpha");
        }
        assertTrue(acknowledged[20] > 0 && acknowledged[elsewhere] > 0, "the blocks written are among those checked");
    }

    /**
     * attach while the connection's first handshake waits for the peer's answer: the two nodes
     * must not pair different handshakes (each taking the other's answers for new negotiations,
     * renegotiating at each other for ever), but settle into one resync of the attached disk.
     */
    @Test
    void anAttachWhileAHandshakeWaitsForThePeerEndsInOneResyncNotARenegotiationLoop() {
        Simulation sim = world(io.repl.core.replication.CoreConfig.OnIoError.DETACH);
        sim.node(ALPHA).failWrites(true);
        awaitAnswers(sim, List.of(sim.write(ALPHA, 20, 4, false)));
        assertEquals(DiskState.DISKLESS, status(sim, ALPHA).disk());
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        sim.network().partition(true, true);
        sim.waitFor(() -> status(sim, ALPHA).connection() != ConnectionState.CONNECTED, 1000 * MS, "apart");
        sim.waitFor(() -> sim.node(ALPHA).detachedDiskReleased(), 1000 * MS, "the detached disk released");
        sim.network().partition(false, false);
        // Step by 10 µs: the first instant alpha is connected its handshake has gone out and
        // beta's has not arrived (the network takes at least 20 µs).
        for (int step = 0; step < 200_000 && status(sim, ALPHA).connection() != ConnectionState.CONNECTED; step++) {
            sim.runFor(10_000);
        }
        assertEquals(ConnectionState.CONNECTED, status(sim, ALPHA).connection());
        assertEquals(io.repl.core.replication.ReplicationState.OFF, status(sim, ALPHA).replication(),
                "the handshake waits for beta's answer");
        assertTrue(sim.node(ALPHA).attachHealedDisk().done());
        int before = sim.node(ALPHA).recentLog().split("handshake: ", -1).length;
        sim.awaitInSync();
        sim.runFor(200 * MS);
        int handshakes = sim.node(ALPHA).recentLog().split("handshake: ", -1).length - before;
        assertTrue(handshakes <= 2, handshakes + " handshakes after the attach:\n" + sim.node(ALPHA).recentLog());
        for (int block = 0; block < EXTENTS * EXTENT_BLOCKS; block++) {
            assertEquals(sim.valueOn(BETA, block), sim.valueOn(ALPHA, block), "block " + block + " after the resync");
        }
    }

    @Test
    void aDisklessPrimaryMeetingAPeerPromotedMeanwhileIsRefusedAsSplitBrain() {
        Simulation sim = world(io.repl.core.replication.CoreConfig.OnIoError.DETACH);
        sim.node(ALPHA).failWrites(true);
        long failing = sim.write(ALPHA, 20, 4, false);
        awaitAnswers(sim, List.of(failing));
        assertEquals(DiskState.DISKLESS, status(sim, ALPHA).disk());
        sim.network().partition(true, true);
        sim.waitFor(() -> status(sim, ALPHA).connection() != ConnectionState.CONNECTED
                && status(sim, BETA).connection() != ConnectionState.CONNECTED, 1000 * MS, "cut");
        assertTrue(sim.node(BETA).command(new Command.Primary(true)).done(), "beta promoted while apart");
        long alone = sim.write(BETA, 50, 1, false);
        awaitAnswers(sim, List.of(alone));
        sim.network().partition(false, false);
        sim.waitFor(() -> status(sim, ALPHA).connection() == ConnectionState.STAND_ALONE
                && status(sim, BETA).connection() == ConnectionState.STAND_ALONE, 2000 * MS, "both refuse");
        assertEquals(Role.PRIMARY, status(sim, ALPHA).role());
        assertEquals(Role.PRIMARY, status(sim, BETA).role());
        assertTrue(sim.node(ALPHA).recentLog().contains("both nodes are Primary and one is Diskless"),
                sim.node(ALPHA).recentLog());

        assertTrue(sim.node(ALPHA).command(new Command.Secondary(true, false)).done());
        sim.node(ALPHA).command(new Command.Connect(false));
        sim.node(BETA).command(new Command.Connect(false));
        sim.waitFor(() -> status(sim, ALPHA).connection() == ConnectionState.CONNECTED
                && status(sim, BETA).connection() == ConnectionState.CONNECTED, 2000 * MS, "demoted, they connect");
        assertEquals(Role.PRIMARY, status(sim, BETA).role());
        assertEquals(DiskState.UP_TO_DATE, status(sim, BETA).disk());
    }

    @Test
    void underPassOnAFailedWriteGetsEioAndItsRangeIsResyncedWhileTheDiskStays() {
        Simulation sim = world(io.repl.core.replication.CoreConfig.OnIoError.PASS_ON);
        sim.node(ALPHA).failWrites(true);
        long failing = sim.write(ALPHA, 20, 2, false);
        awaitAnswers(sim, List.of(failing));
        sim.node(ALPHA).failWrites(false);
        assertEquals(Errno.EIO, sim.completion(failing), "pass-on: the client gets the error");
        CoreStatus alpha = status(sim, ALPHA);
        assertEquals(DiskState.UP_TO_DATE, alpha.disk(), alpha.toString());
        assertEquals(ConnectionState.CONNECTED, alpha.connection(), "no reconnect per failed write");
        // Beta wrote it, alpha did not: the marked range is resynced on the live connection.
        sim.awaitInSync();
        assertEquals(ConnectionState.CONNECTED, status(sim, ALPHA).connection());
        assertEquals(0, status(sim, ALPHA).outOfSyncBytes());
        for (int block = 20; block < 22; block++) {
            assertEquals(sim.valueOn(ALPHA, block), sim.valueOn(BETA, block), "block " + block + " resynced");
        }
        assertTrue(sim.hooks.stream().anyMatch(h -> h.name().equals("local-io-error") && h.node() == ALPHA),
                sim.hooks.toString());
    }

    @Test
    void aPrimaryWhosePeerCannotServeKeepsItsDiskAndPassesTheErrorOn() {
        Simulation sim = world(io.repl.core.replication.CoreConfig.OnIoError.DETACH);
        sim.network().partition(true, true);
        sim.waitFor(() -> status(sim, ALPHA).connection() != ConnectionState.CONNECTED, 1000 * MS, "cut");
        CommandResult refused = sim.node(ALPHA).command(new Command.Detach());
        assertFalse(refused.done(), "the operator cannot detach the only current copy");
        assertTrue(refused.reason().contains("only good copy"), refused.reason());
        sim.node(ALPHA).failWrites(true);
        long failing = sim.write(ALPHA, 20, 1, false);
        awaitAnswers(sim, List.of(failing));
        assertEquals(Errno.EIO, sim.completion(failing));
        assertEquals(DiskState.UP_TO_DATE, status(sim, ALPHA).disk(), "the copy that holds everything stays");
        assertEquals(Role.PRIMARY, status(sim, ALPHA).role());
    }
}
