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
import io.repl.core.replication.Errno;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.FailoverPolicy.Fencing;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The failover rules of docs/FAILOVER.md, one scripted scenario each, on the simulator's world
 * (real cores, simulated disks, network and witness): goodbyes, losses without one under each
 * fencing policy, the fence-peer handler's exit codes, the witness's grants and refusals,
 * resume-io, outdate, and a node restarting alone.
 */
class FailoverScenarioTest {
    private static final long MS = Simulation.MS;
    private static final int ALPHA = 0;
    private static final int BETA = 1;

    private static Simulation world(FailoverPolicy policy) {
        Simulation sim = new Simulation(11, Simulation.Options.of(ReplicationProtocol.C).with(policy));
        sim.bootPair();
        sim.waitFor(sim::bothConnectedEstablished, 1000 * MS, "first handshake");
        sim.node(ALPHA).command(new Command.NewCurrentUuidClearBitmap());
        awaitInSync(sim);
        assertTrue(sim.promoteNow(ALPHA).done());
        sim.runFor(20 * MS);
        return sim;
    }

    private static Simulation world(Fencing fencing) {
        return world(FailoverPolicy.defaults().withFencing(fencing));
    }

    private static Simulation witnessWorld(FailoverPolicy.OnNoQuorum onNoQuorum) {
        Simulation sim = world(FailoverPolicy.defaults().withWitness(true).withOnNoQuorum(onNoQuorum));
        sim.waitFor(() -> sim.witness.record().holders() == 0b11, 1000 * MS, "both nodes reported to the witness");
        return sim;
    }

    /**
     * A witnessed pair, alpha Primary, one acknowledged write; then {@code failing}'s metadata
     * device fails and then its data disk, while {@code cutOff} cannot reach the witness.
     */
    private static Simulation disksFailWhileCutOffFromTheWitness(int failing, int cutOff) {
        Simulation sim = witnessWorld(FailoverPolicy.OnNoQuorum.SUSPEND_IO);
        awaitAcknowledged(sim, sim.write(ALPHA, 10, 2, false));
        sim.witnessNet.partition(cutOff, true, true);
        sim.node(failing).failMetadata();
        sim.node(failing).failWrites(true);
        return sim;
    }

    /**
     * Both nodes die; {@code stale}, whose disk was left behind, comes back alone and is refused
     * a promotion without --force (the witness names the other node); then the other comes back.
     */
    private static void staleDiskComesBackAloneAndIsRefused(Simulation sim, int stale) {
        int other = 1 - stale;
        sim.kill(other, true);
        sim.kill(stale, true);
        sim.node(stale).boot();
        sim.runFor(20 * MS);
        CommandResult refused = sim.promote(sim.node(stale), false, 1000 * MS);
        assertNotNull(refused);
        assertFalse(refused.done(), "the stale disk is not promoted: " + refused);
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, refused.exitCode(), refused.toString());
        assertEquals(1 << other, sim.witness.record().holders());
        sim.node(other).boot();
        sim.heal();
    }

    /**
     * alpha writes block 20 once {@code detached} has lost its disk: the node is Diskless and
     * the write, which only one copy holds, is not acknowledged. Returns the request.
     */
    private static long writeHeldAfterTheDetach(Simulation sim, int detached) {
        long held = sim.write(ALPHA, 20, 2, false);
        sim.runFor(300 * MS);
        assertEquals(DiskState.DISKLESS, status(sim, detached).disk(), sim.node(detached).name() + " detached");
        assertNull(sim.completion(held), "not acknowledged while the witness may still grant the old disk");
        return held;
    }

    private static CoreStatus status(Simulation sim, int node) {
        return sim.node(node).status();
    }

    private static void awaitInSync(Simulation sim) {
        sim.awaitInSync();
    }

    private static void awaitAcknowledged(Simulation sim, long request) {
        sim.waitFor(() -> sim.completion(request) != null, 2000 * MS, "request " + request);
        assertEquals(Errno.OK, sim.completion(request));
    }

    private static void awaitApart(Simulation sim) {
        sim.waitFor(() -> status(sim, ALPHA).connection() != ConnectionState.CONNECTED
                && status(sim, BETA).connection() != ConnectionState.CONNECTED, 2000 * MS, "both notice the loss");
    }

    /** A partition that resets the connection; writes since are alone. */
    private static void partition(Simulation sim) {
        sim.network().partition(true, true);
        awaitApart(sim);
    }

    // ---------------------------------------------------------------- goodbyes

    @Test
    void afterADemotionsGoodbyeTheSecondaryIsPromotedAloneAndTheOldPrimaryIsNot() {
        Simulation sim = world(Fencing.OUTDATE);
        awaitAcknowledged(sim, sim.write(ALPHA, 3, 2, false));
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        sim.runFor(10 * MS);
        partition(sim);
        assertEquals(DiskState.UP_TO_DATE, status(sim, BETA).disk(), "beta holds alpha's goodbye");
        assertEquals("alpha said goodbye", status(sim, BETA).failover().diskNote());
        assertEquals(DiskState.CONSISTENT, status(sim, ALPHA).disk(), "alpha gave the right away");
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, sim.promoteNow(ALPHA).exitCode());
        assertTrue(sim.promoteNow(BETA).done());
        awaitAcknowledged(sim, sim.write(BETA, 3, 1, false));
        sim.heal();
    }

    @Test
    void anOrderlyDownOfThePrimarySaysGoodbyeAfterItsLastWrite() {
        Simulation sim = world(Fencing.OUTDATE);
        for (int i = 0; i < 10; i++) {
            awaitAcknowledged(sim, sim.write(ALPHA, 10 + i, 1, false));
        }
        assertTrue(sim.node(ALPHA).command(new Command.Down()).done());
        assertEquals(Role.SECONDARY, status(sim, ALPHA).role(), "down demotes the Primary first");
        sim.waitFor(() -> status(sim, BETA).connection() != ConnectionState.CONNECTED, 1000 * MS, "the close");
        assertEquals(DiskState.UP_TO_DATE, status(sim, BETA).disk());
        sim.kill(ALPHA, true);
        assertTrue(sim.promoteNow(BETA).done(), "no --force after a goodbye");
        for (int i = 0; i < 10; i++) {
            assertTrue(sim.valueOn(BETA, 10 + i) > 0, "block " + (10 + i) + " reached beta before the goodbye");
        }
        sim.heal();
    }

    @Test
    void aSecondaryGoingDownOutdatesItselfAndLetsThePrimaryGoOnWithoutFencing() {
        Simulation sim = world(Fencing.RESOURCE_AND_STONITH);
        assertTrue(sim.node(BETA).command(new Command.Down()).done());
        sim.waitFor(() -> status(sim, ALPHA).connection() != ConnectionState.CONNECTED, 1000 * MS, "the close");
        assertEquals(DiskState.OUTDATED, status(sim, BETA).disk(), "beta knows alpha goes on without it");
        assertNull(status(sim, ALPHA).failover().heldReason(), "beta's goodbye needs no fencing");
        assertTrue(sim.fenceRequests.isEmpty());
        awaitAcknowledged(sim, sim.write(ALPHA, 1, 1, false));
        sim.heal();
    }

    // ---------------------------------------------------------------- outdate (the default)

    @Test
    void aLossWithoutGoodbyeMakesTheSecondaryConsistentAndItsPromotionNeedsForce() {
        Simulation sim = world(Fencing.OUTDATE);
        awaitAcknowledged(sim, sim.write(ALPHA, 1, 1, false));
        partition(sim);
        assertEquals(DiskState.CONSISTENT, status(sim, BETA).disk());
        assertTrue(status(sim, BETA).failover().diskNote().startsWith("lost alpha"), status(sim, BETA).failover().diskNote());
        long alone = sim.write(ALPHA, 2, 1, false);
        awaitAcknowledged(sim, alone);
        assertNull(status(sim, ALPHA).failover().heldReason(), "the Primary writes alone at once");
        CommandResult refused = sim.promoteNow(BETA);
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, refused.exitCode());
        assertTrue(refused.reason().contains("Consistent") && refused.reason().contains("lost alpha")
                && refused.reason().contains(" s ago"), refused.reason());
        assertTrue(refused.nextStep().contains("--force") && refused.nextStep().contains("witness"), refused.nextStep());
        sim.heal();
    }

    @Test
    void aNodeRestartingAloneIsConsistent() {
        Simulation sim = world(Fencing.OUTDATE);
        assertTrue(sim.node(BETA).command(new Command.Disconnect()).done());
        sim.node(ALPHA).command(new Command.Disconnect());
        sim.kill(BETA, true);
        sim.node(BETA).boot();
        assertEquals(DiskState.CONSISTENT, status(sim, BETA).disk());
        assertTrue(status(sim, BETA).failover().diskNote().startsWith("started without its peer"));
        sim.waitFor(() -> status(sim, ALPHA).connection() == ConnectionState.STAND_ALONE, 1000 * MS,
                "alpha's disconnect to finish");
        CommandResult connect = sim.node(ALPHA).command(new Command.Connect(false));
        assertTrue(connect.done(), connect.toString());
        awaitInSync(sim);
        // The note explained a Consistent disk; once in sync it no longer applies, and a disk
        // that is then invalidated (or fails) does not carry it.
        sim.network().partition(true, true);
        sim.node(BETA).command(new Command.Invalidate());
        assertEquals(DiskState.INCONSISTENT, status(sim, BETA).disk());
        assertNull(status(sim, BETA).failover().diskNote(), status(sim, BETA).toString());
        sim.heal();
    }

    @Test
    void aPromotionThePeerNeverSawIsUndoneWhenTheConnectionEnds() {
        Simulation sim = world(Fencing.OUTDATE);
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        awaitInSync(sim);
        // Alpha is promoted again, but nothing it sends reaches beta any more.
        sim.network().hold(BETA, true);
        CommandResult pending = sim.node(ALPHA).command(new Command.Primary(false));
        assertTrue(pending.isPending(), "a promotion while connected waits for the peer to see it");
        assertTrue(status(sim, ALPHA).failover().promotionPending());
        long write = sim.write(ALPHA, 4, 1, false);
        sim.network().partition(true, true);
        awaitApart(sim);
        sim.waitFor(() -> sim.completion(write) != null, 1000 * MS, "the write's answer");
        assertTrue(sim.completion(write) != Errno.OK, "nothing was acknowledged by a promotion nobody saw");
        assertEquals(Role.SECONDARY, status(sim, ALPHA).role(), "undone");
        assertEquals(DiskState.CONSISTENT, status(sim, ALPHA).disk(), "and alpha lost beta without a goodbye");
        sim.heal();
    }

    @Test
    void aGoodbyeStandsUntilThePeerSeesThePromotionThatVoidsIt() {
        Simulation sim = world(Fencing.RESOURCE_AND_STONITH);
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        awaitInSync(sim);
        sim.network().hold(BETA, true);
        assertTrue(sim.node(ALPHA).command(new Command.Primary(false)).isPending());
        sim.network().partition(true, true);
        awaitApart(sim);
        assertEquals(Role.SECONDARY, status(sim, ALPHA).role());
        assertEquals(DiskState.UP_TO_DATE, status(sim, BETA).disk(), "beta still holds alpha's goodbye");
        assertEquals(DiskState.CONSISTENT, status(sim, ALPHA).disk(),
                "alpha's goodbye was never voided in beta's eyes: alpha keeps its promise");
        assertTrue(sim.promoteNow(BETA).done(), "beta, holding the goodbye, needs no fencing");
        sim.heal();
    }

    /** A switchover: alpha demotes (its goodbye), beta is promoted while connected and writes. */
    private static long switchOver(Simulation sim) {
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        awaitInSync(sim);
        sim.waitFor(() -> status(sim, BETA).peerRole() == Role.SECONDARY, 1000 * MS, "beta sees the demotion");
        assertTrue(sim.promoteNow(BETA).done());
        sim.waitFor(() -> status(sim, ALPHA).peerRole() == Role.PRIMARY, 1000 * MS, "alpha sees the promotion");
        long write = sim.write(BETA, 4, 2, false);
        awaitAcknowledged(sim, write);
        sim.runFor(10 * MS);
        return write;
    }

    @Test
    void afterASwitchoverTheOldPrimaryTakesOverWithoutForceWhenTheNewOneDies() {
        Simulation sim = world(Fencing.RESOURCE_AND_STONITH);
        switchOver(sim);
        sim.kill(BETA, false);
        sim.waitFor(() -> status(sim, ALPHA).connection() != ConnectionState.CONNECTED, 1000 * MS, "ping timeout");
        assertEquals(DiskState.UP_TO_DATE, status(sim, ALPHA).disk(),
                "beta's promotion voided alpha's goodbye: losing beta is an ordinary loss");
        CommandResult pending = sim.node(ALPHA).command(new Command.Primary(false));
        assertTrue(pending.isPending(), "resource-and-stonith: the old Primary is fenced first: " + pending);
        sim.answerFence(ALPHA, 7);
        sim.waitFor(() -> status(sim, ALPHA).role() == Role.PRIMARY, 1000 * MS, "promoted without --force");
        assertTrue(sim.valueOn(ALPHA, 4) > 0 && sim.valueOn(ALPHA, 5) > 0, "beta's acknowledged write is on alpha");
        sim.heal();
    }

    @Test
    void aPrimaryPromotedAfterItsPeersGoodbyeFencesThePeerWhenTheLinkBreaks() {
        Simulation sim = world(Fencing.RESOURCE_AND_STONITH);
        switchOver(sim);
        int fencesBefore = sim.fenceRequests.size();
        partition(sim);
        assertEquals(fencesBefore + 1, sim.fenceRequests.size(), "beta holds no goodbye of alpha's: it fences");
        long held = sim.write(BETA, 9, 1, false);
        sim.runFor(100 * MS);
        assertNull(sim.completion(held), "held until the fence-peer handler answers");
        sim.answerFence(BETA, 4);
        awaitAcknowledged(sim, held);
        sim.heal();
    }

    @Test
    void aPromotionWhileConnectedCompletesOnceThePeerSeesIt() {
        Simulation sim = world(Fencing.OUTDATE);
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        awaitInSync(sim);
        sim.waitFor(() -> status(sim, BETA).peerRole() == Role.SECONDARY, 1000 * MS, "beta sees the demotion");
        CommandResult result = sim.promoteNow(BETA);
        assertTrue(result.done(), result.toString());
        assertEquals(Role.PRIMARY, status(sim, ALPHA).peerRole(), "alpha saw it before beta's command returned");
        sim.heal();
    }

    @Test
    void outdateMarksASecondaryThatNeverPromotesWithoutForceAndResyncsToUpToDate() {
        Simulation sim = world(Fencing.OUTDATE);
        assertEquals(CommandResult.REFUSED, sim.node(BETA).command(new Command.Outdate()).exitCode(),
                "refused while connected");
        assertEquals(CommandResult.REFUSED, sim.node(ALPHA).command(new Command.Outdate()).exitCode(),
                "refused on a Primary");
        partition(sim);
        assertTrue(sim.node(BETA).command(new Command.Outdate()).done());
        assertEquals(DiskState.OUTDATED, status(sim, BETA).disk());
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, sim.promoteNow(BETA).exitCode());
        sim.kill(BETA, true);
        sim.node(BETA).boot();
        assertEquals(DiskState.OUTDATED, status(sim, BETA).disk(), "persisted");
        awaitAcknowledged(sim, sim.write(ALPHA, 5, 1, false));
        sim.network().partition(false, false);
        awaitInSync(sim);
        sim.heal();
    }

    // ---------------------------------------------------------------- resource-and-stonith

    @ParameterizedTest(name = "fence-peer exit {0}")
    @ValueSource(ints = {3, 4, 5, 6, 7, 1})
    void resourceAndStonithHoldsWritesUntilTheFencePeerHandlerConfirms(int exit) {
        Simulation sim = world(Fencing.RESOURCE_AND_STONITH);
        partition(sim);
        assertEquals(DiskState.UP_TO_DATE, status(sim, BETA).disk(), "the Primary fences; beta stays UpToDate");
        assertEquals(1, sim.fenceRequests.size(), "alpha ran fence-peer");
        long held = sim.write(ALPHA, 7, 1, false);
        sim.runFor(100 * MS);
        assertNull(sim.completion(held), "held: acknowledged nowhere, failed nowhere");
        sim.answerFence(ALPHA, exit);
        sim.runFor(20 * MS);
        boolean resumes = exit == 3 || exit == 4 || exit == 7;
        if (resumes) {
            awaitAcknowledged(sim, held);
        } else {
            assertNull(sim.completion(held), "exit " + exit + " keeps the writes held");
            assertTrue(status(sim, ALPHA).failover().heldReason().contains("exited " + exit),
                    status(sim, ALPHA).failover().heldReason());
            assertTrue(sim.node(ALPHA).command(new Command.ResumeIo(false)).done(), "the operator overrides");
            awaitAcknowledged(sim, held);
        }
        sim.heal();
    }

    @Test
    void aFencePeerResultFromARunANewerOneReplacedDecidesNothing() {
        Simulation sim = world(Fencing.RESOURCE_AND_STONITH);
        partition(sim);
        assertEquals(1, sim.fenceRequests.size(), "run 1 for the first loss");
        // The peer comes back before run 1 answers, and is lost again: run 2 starts.
        sim.network().partition(false, false);
        sim.waitFor(sim::bothConnectedEstablished, 2000 * MS, "reconnected");
        awaitInSync(sim);
        partition(sim);
        assertEquals(2, sim.fenceRequests.size(), "run 2 for the second loss");
        long held = sim.write(ALPHA, 9, 1, false);
        sim.runFor(50 * MS);
        assertNull(sim.completion(held), "held until run 2 answers");
        // Run 1's outdate speaks of the peer before it came back: it must not release the writes.
        sim.answerFence(ALPHA, 4);
        sim.runFor(50 * MS);
        assertNull(sim.completion(held), "a stale fence-peer result released held writes");
        assertNotNull(status(sim, ALPHA).failover().heldReason());
        sim.answerFence(ALPHA, 4);
        awaitAcknowledged(sim, held);
        sim.heal();
    }

    @Test
    void resourceAndStonithFencesTheOldPrimaryBeforeASecondaryIsPromoted() {
        Simulation sim = world(Fencing.RESOURCE_AND_STONITH);
        partition(sim);
        sim.answerFence(ALPHA, 5);
        CommandResult pending = sim.node(BETA).command(new Command.Primary(false));
        assertTrue(pending.isPending(), pending.toString());
        sim.answerFence(BETA, 6);
        sim.runFor(5 * MS);
        assertEquals(Role.SECONDARY, status(sim, BETA).role(), "alpha is still Primary: beta stays Secondary");
        assertEquals(DiskState.OUTDATED, status(sim, BETA).disk());
        sim.heal();
    }

    // ---------------------------------------------------------------- dont-care

    @Test
    void dontCareWritesAloneAndSaysItCanLoseWrites() {
        Simulation sim = world(Fencing.DONT_CARE);
        partition(sim);
        awaitAcknowledged(sim, sim.write(ALPHA, 1, 1, false));
        assertTrue(status(sim, ALPHA).failover().mayLoseWrites());
        assertEquals(DiskState.UP_TO_DATE, status(sim, BETA).disk(), "no fencing: beta stays promotable");
        sim.heal();
        assertFalse(status(sim, ALPHA).failover().mayLoseWrites(), "in sync again");
    }

    // ---------------------------------------------------------------- the witness

    @Test
    void withAWitnessTheSecondaryOfAKilledPrimaryIsPromotedWithoutForce() {
        Simulation sim = witnessWorld(FailoverPolicy.OnNoQuorum.SUSPEND_IO);
        for (int i = 0; i < 8; i++) {
            awaitAcknowledged(sim, sim.write(ALPHA, 20 + i, 1, false));
        }
        sim.kill(ALPHA, false);
        sim.waitFor(() -> status(sim, BETA).connection() != ConnectionState.CONNECTED, 1000 * MS, "ping timeout");
        assertEquals(DiskState.CONSISTENT, status(sim, BETA).disk());
        CommandResult result = sim.promote(sim.node(BETA), false, 1000 * MS);
        assertNotNull(result);
        assertTrue(result.done(), result.toString());
        assertFalse(sim.node(BETA).recentLog().contains("refused"),
                "a promotion waiting for the witness is not logged as refused:\n" + sim.node(BETA).recentLog());
        assertEquals(1 << BETA, sim.witness.record().holders(), "the witness records alpha as deposed");
        sim.node(ALPHA).boot();
        sim.waitFor(() -> status(sim, ALPHA).replication().isTarget() || status(sim, ALPHA).disk()
                == DiskState.UP_TO_DATE, 2000 * MS, "alpha comes back as a target");
        sim.heal();
    }

    /**
     * A Primary's metadata device fails, then its data disk, and it detaches: the disk left
     * behind never recorded the detach. The peer's new generation becomes the witness's record,
     * held by the peer alone, so that disk, restarted while the peer is down, is refused a
     * promotion; it gets the writes served through the peer once the peer is back.
     */
    @Test
    void withAWitnessADetachedDiskThatCouldNotRecordItIsRefusedPromotionWhileThePeerIsDown() {
        Simulation sim = witnessWorld(FailoverPolicy.OnNoQuorum.SUSPEND_IO);
        awaitAcknowledged(sim, sim.write(ALPHA, 10, 2, false));
        sim.node(ALPHA).failMetadata();
        sim.node(ALPHA).failWrites(true);
        awaitAcknowledged(sim, sim.write(ALPHA, 20, 2, false));
        assertEquals(DiskState.DISKLESS, status(sim, ALPHA).disk(), "alpha detached and serves through beta");
        sim.waitFor(() -> sim.witness.record().holders() == 1 << BETA, 1000 * MS,
                "the witness records beta's copy as the only current one");
        awaitAcknowledged(sim, sim.write(ALPHA, 30, 2, false));
        long acknowledged = sim.valueOn(BETA, 30);
        assertTrue(acknowledged > 0);

        staleDiskComesBackAloneAndIsRefused(sim, ALPHA);
        assertEquals(acknowledged, sim.valueOn(ALPHA, 30), "the write served through beta reached alpha's disk");
        assertEquals(acknowledged, sim.valueOn(BETA, 30));
    }

    /**
     * The same detach while beta cannot reach the witness: the writes only beta holds are not
     * acknowledged until the witness has recorded beta's copy as the only current one, so no
     * moment exists in which alpha's old disk could be granted a promotion over an
     * acknowledged write.
     */
    @Test
    void withAWitnessWritesServedThroughThePeerWaitUntilTheWitnessRecordedThePeersCopyAsTheOnlyOne() {
        Simulation sim = disksFailWhileCutOffFromTheWitness(ALPHA, BETA);
        long failed = sim.write(ALPHA, 20, 2, false);
        long through = sim.write(ALPHA, 30, 2, false);
        sim.runFor(300 * MS);
        assertEquals(DiskState.DISKLESS, status(sim, ALPHA).disk());
        assertTrue(sim.valueOn(BETA, 20) > 0 && sim.valueOn(BETA, 30) > 0, "beta wrote both");
        assertNull(sim.completion(failed), "not acknowledged while the witness may still grant alpha's old disk");
        assertNull(sim.completion(through), "not acknowledged while the witness may still grant alpha's old disk");
        assertTrue(sim.witness.record().holders() == 0b11, "the witness still names both nodes");
        String held = status(sim, ALPHA).failover().heldReason();
        assertTrue(held != null && held.startsWith("Diskless: writes wait"), "status says why: " + held);

        sim.witnessNet.partition(BETA, false, false);
        awaitAcknowledged(sim, failed);
        awaitAcknowledged(sim, through);
        assertEquals(1 << BETA, sim.witness.record().holders(), "recorded first, then acknowledged");
        awaitAcknowledged(sim, sim.write(ALPHA, 40, 2, false));
    }

    /**
     * As above, and the link between the nodes breaks before the witness answered: the writes
     * held fail (nothing acknowledged them), and the Diskless Primary, reconnecting with the
     * generation before the one beta started for it, is served by beta again; once the witness
     * answers, beta announces its generation and the writes go on.
     */
    @Test
    void aDisklessPrimaryThatMissedItsPeersAnnouncementIsServedAgainAfterAReconnect() {
        Simulation sim = disksFailWhileCutOffFromTheWitness(ALPHA, BETA);
        long held = writeHeldAfterTheDetach(sim, ALPHA);
        sim.network().partition(true, true);
        sim.waitFor(() -> sim.completion(held) != null, 2000 * MS, "the held write answered");
        assertEquals(Errno.EIO, sim.completion(held), "no acknowledgement for what the witness never heard of");
        sim.network().partition(false, false);
        sim.waitFor(() -> status(sim, ALPHA).connection() == ConnectionState.CONNECTED
                && status(sim, BETA).disk() == DiskState.UP_TO_DATE, 2000 * MS, "beta serves alpha again");
        long after = sim.write(ALPHA, 30, 2, false);
        sim.runFor(100 * MS);
        assertNull(sim.completion(after), "still waiting for the witness");
        sim.witnessNet.partition(BETA, false, false);
        awaitAcknowledged(sim, after);
        assertEquals(1 << BETA, sim.witness.record().holders());
        awaitAcknowledged(sim, sim.write(ALPHA, 40, 2, false));
    }

    /**
     * The mirror case: the Secondary's metadata device fails, then a write from the Primary on
     * its data disk, and it detaches, its old disk never recording that. The Primary's writes
     * from then on are alone: acknowledged only once the witness recorded its copy as the only
     * current one, so the Secondary's old disk, restarted while the Primary is down, is refused.
     */
    @Test
    void withAWitnessWritesAloneAfterThePeersDiskWentWaitForTheWitnessAndItsOldDiskIsRefused() {
        Simulation sim = disksFailWhileCutOffFromTheWitness(BETA, ALPHA);
        long alone = writeHeldAfterTheDetach(sim, BETA);
        assertEquals(ConnectionState.CONNECTED, status(sim, ALPHA).connection());
        assertTrue(sim.valueOn(ALPHA, 20) > 0, "alpha wrote it");
        String held = status(sim, ALPHA).failover().heldReason();
        assertTrue(held != null && held.contains("the witness records this copy"), "status says why: " + held);

        sim.witnessNet.partition(ALPHA, false, false);
        awaitAcknowledged(sim, alone);
        assertEquals(1 << ALPHA, sim.witness.record().holders(), "recorded first, then acknowledged");
        long acknowledged = sim.valueOn(ALPHA, 20);

        staleDiskComesBackAloneAndIsRefused(sim, BETA);
        assertEquals(acknowledged, sim.valueOn(BETA, 20), "the write made alone reached beta's disk");
    }

    @Test
    void withAWitnessThePrimaryWritesAloneOnlyAfterItsGrantAndTheSecondaryIsThenRefused() {
        Simulation sim = witnessWorld(FailoverPolicy.OnNoQuorum.SUSPEND_IO);
        partition(sim);
        long alone = sim.write(ALPHA, 30, 1, false);
        awaitAcknowledged(sim, alone);
        assertEquals(1 << ALPHA, sim.witness.record().holders(), "the grant came first");
        CommandResult refused = sim.promote(sim.node(BETA), false, 1000 * MS);
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, refused.exitCode());
        assertTrue(refused.reason().contains("witness refused"), refused.reason());
        assertEquals(DiskState.OUTDATED, status(sim, BETA).disk());
        sim.heal();
        assertTrue(sim.valueOn(BETA, 30) > 0, "the write made alone reached beta in the resync");
    }

    @Test
    void aPrimaryCutOffFromPeerAndWitnessHoldsItsWrites() {
        Simulation sim = witnessWorld(FailoverPolicy.OnNoQuorum.SUSPEND_IO);
        sim.witnessNet.partition(ALPHA, true, true);
        partition(sim);
        long held = sim.write(ALPHA, 40, 1, false);
        sim.runFor(300 * MS);
        assertNull(sim.completion(held), "no quorum: held");
        sim.witnessNet.partition(ALPHA, false, false);
        awaitAcknowledged(sim, held);
        sim.heal();
    }

    @Test
    void onNoQuorumIoErrorFailsTheWritesInstead() {
        Simulation sim = witnessWorld(FailoverPolicy.OnNoQuorum.IO_ERROR);
        sim.witnessNet.partition(ALPHA, true, true);
        sim.runFor(400 * MS);
        partition(sim);
        long failed = sim.write(ALPHA, 41, 1, false);
        sim.waitFor(() -> sim.completion(failed) != null, 1000 * MS, "the write's answer");
        assertEquals(Errno.EIO, sim.completion(failed));
        sim.heal();
    }

    @Test
    void resumeIoWithoutTheWitnessNeedsForceAndTheWitnessHearsOfItLater() {
        Simulation sim = witnessWorld(FailoverPolicy.OnNoQuorum.SUSPEND_IO);
        sim.witnessNet.partition(ALPHA, true, true);
        partition(sim);
        long held = sim.write(ALPHA, 42, 1, false);
        sim.runFor(300 * MS);
        assertNull(sim.completion(held));
        CommandResult refused = sim.node(ALPHA).command(new Command.ResumeIo(false));
        assertEquals(CommandResult.REFUSED, refused.exitCode(), "the witness could still promote beta");
        assertTrue(refused.nextStep().contains("--force"), refused.nextStep());
        assertTrue(sim.node(ALPHA).command(new Command.ResumeIo(true)).done());
        awaitAcknowledged(sim, held);
        sim.witnessNet.partition(ALPHA, false, false);
        sim.waitFor(() -> sim.witness.record().forced(), 1000 * MS, "the witness hears of the --force");
        CommandResult promote = sim.promote(sim.node(BETA), false, 1000 * MS);
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, promote.exitCode(), String.valueOf(promote));
        sim.heal();
    }

    @Test
    void aDeposedPrimaryDemotesAndResyncsFromTheWinnerAcrossTheSplitBrain() {
        Simulation sim = witnessWorld(FailoverPolicy.OnNoQuorum.SUSPEND_IO);
        sim.witnessNet.partition(ALPHA, true, true);
        partition(sim);
        long held = sim.write(ALPHA, 50, 1, false);
        CommandResult promoted = sim.promote(sim.node(BETA), false, 1000 * MS);
        assertTrue(promoted.done(), promoted.toString());
        awaitAcknowledged(sim, sim.write(BETA, 51, 1, false));
        sim.witnessNet.partition(ALPHA, false, false);
        sim.waitFor(() -> status(sim, ALPHA).role() == Role.SECONDARY, 2000 * MS, "alpha hears it was deposed");
        assertEquals(Errno.EROFS, sim.completion(held), "what alpha held fails: its export is read-only now");
        assertEquals(DiskState.OUTDATED, status(sim, ALPHA).disk());
        sim.network().partition(false, false);
        awaitInSync(sim);
        assertTrue(sim.valueOn(ALPHA, 51) > 0, "alpha resynced from beta although both had new generations");
        assertEquals(0, sim.valueOn(ALPHA, 50), "alpha's unacknowledged write was discarded");
        sim.heal();
    }

    @Test
    void theWitnessSurvivesItsRestartAndStillRefusesTheDeposedNode() {
        Simulation sim = witnessWorld(FailoverPolicy.OnNoQuorum.SUSPEND_IO);
        partition(sim);
        awaitAcknowledged(sim, sim.write(ALPHA, 60, 1, false));
        sim.witness.crash();
        sim.witnessNet.witnessCrashed();
        sim.runFor(300 * MS);
        sim.witness.restart();
        CommandResult refused = sim.promote(sim.node(BETA), false, 1000 * MS);
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, refused.exitCode(), String.valueOf(refused));
        sim.heal();
    }

    /**
     * A resume-io the witness never answered fails, and is withdrawn: it is not sent again when
     * the witness comes back, by which time the peer may have been promoted (simulator seed
     * 37560, where the late notice made the witness record the old Primary as the only holder).
     */
    @Test
    void aResumeIoTheWitnessNeverAnsweredIsNotSentLater() {
        Simulation sim = witnessWorld(FailoverPolicy.OnNoQuorum.SUSPEND_IO);
        // alpha's requests wait in transit; its witness connection breaks 100-200 ms later.
        sim.witnessNet.partition(ALPHA, true, false);
        partition(sim);
        long held = sim.write(ALPHA, 70, 1, false);
        CommandResult resumed = sim.commandAndWait(sim.node(ALPHA), new Command.ResumeIo(false), 1000 * MS);
        assertEquals(CommandResult.REFUSED, resumed.exitCode(), String.valueOf(resumed));
        assertTrue(resumed.reason().contains("closed before it answered"), resumed.reason());
        assertNull(sim.completion(held), "still held");

        CommandResult promoted = sim.promote(sim.node(BETA), false, 1000 * MS);
        assertTrue(promoted.done(), String.valueOf(promoted));
        awaitAcknowledged(sim, sim.write(BETA, 71, 1, false));

        sim.witnessNet.partition(ALPHA, false, false);
        sim.waitFor(() -> status(sim, ALPHA).role() == Role.SECONDARY, 2000 * MS,
                "alpha asks to write alone again and hears it was deposed");
        assertEquals(DiskState.OUTDATED, status(sim, ALPHA).disk());
        assertEquals(1 << BETA, sim.witness.record().holders(), "the witness still names beta alone");
        assertFalse(sim.witness.record().forced(), "no operator's decision was recorded");
        CommandResult refused = sim.promote(sim.node(ALPHA), false, 1000 * MS);
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, refused.exitCode(), String.valueOf(refused));
        sim.network().partition(false, false);
        awaitInSync(sim);
        assertTrue(sim.valueOn(ALPHA, 71) > 0, "alpha resynced beta's write");
        sim.heal();
    }

    /**
     * resume-io is the operator vouching that the peer cannot be promoted; when the witness
     * promoted it in the meantime, the witness refuses, and this node is deposed instead of
     * becoming a second Primary.
     */
    @Test
    void resumeIoIsRefusedOnceTheWitnessPromotedThePeer() {
        Simulation sim = witnessWorld(FailoverPolicy.OnNoQuorum.SUSPEND_IO);
        sim.witnessNet.partition(ALPHA, true, false);
        partition(sim);
        long held = sim.write(ALPHA, 72, 1, false);
        CommandResult promoted = sim.promote(sim.node(BETA), false, 50 * MS);
        assertTrue(promoted.done(), String.valueOf(promoted));
        assertEquals(1 << BETA, sim.witness.record().holders());
        assertTrue(sim.witnessNet.connected(ALPHA), "alpha still thinks the witness is there");
        // alpha's own request and the resume wait in transit, and arrive after beta's grant.
        sim.events.after(2 * MS, () -> sim.witnessNet.partition(ALPHA, false, false));
        CommandResult resumed = sim.commandAndWait(sim.node(ALPHA), new Command.ResumeIo(false), 1000 * MS);
        assertEquals(CommandResult.REFUSED, resumed.exitCode(), String.valueOf(resumed));
        assertTrue(resumed.reason().contains("witness refused"), resumed.reason());
        sim.waitFor(() -> sim.completion(held) != null, 1000 * MS, "the held write's answer");
        assertEquals(Errno.EROFS, sim.completion(held), "alpha never acknowledged it");
        assertEquals(Role.SECONDARY, status(sim, ALPHA).role());
        assertEquals(DiskState.OUTDATED, status(sim, ALPHA).disk());
        assertFalse(sim.witness.record().forced());
        sim.heal();
    }
}
