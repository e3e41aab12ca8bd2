package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreConfig;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.OnCongestion;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DataWrite;
import io.repl.protocol.DiskState;
import io.repl.protocol.MessageType;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code on-congestion = pull-ahead}: the peer stops taking what the Primary sends, the Primary's
 * send queue crosses the congestion fill, and instead of holding its writes the Primary goes
 * Ahead: it stops sending DATA, marks its writes, tells the peer with OUT_OF_SYNC, and the peer
 * goes Behind (Outdated, not promotable without --force). Once the link drains, the pair resyncs
 * the marked blocks on the same connection and ends Established with identical copies.
 */
class AheadBehindScenarioTest {
    private static final long MS = Simulation.MS;
    private static final int ALPHA = 0;
    private static final int BETA = 1;
    private static final long FILL_BYTES = 32 << 10;
    private static final int WRITES = 40;
    private static final long ONE_WRITE = SimNetwork.wireBytes(DataWrite.of(1, 0, ByteBuffer.allocate(4096), 0));

    /** An in-sync pair, alpha Primary, pulling ahead above {@link #FILL_BYTES}. */
    private static Simulation pullAheadPair(ReplicationProtocol protocol, FailoverPolicy failover) {
        Simulation sim = new Simulation(11, Simulation.Options.of(protocol).with(failover)
                .with(OnCongestion.PULL_AHEAD));
        sim.bootInSyncWithPrimary(ALPHA);
        sim.network().congestAbove(FILL_BYTES);
        return sim;
    }

    /**
     * Beta stops reading (shorter than a ping timeout, so the connection survives); alpha gets
     * {@link #WRITES} one-block writes. Returns their request ids, oldest first.
     */
    private static List<Long> writeWhileBetaStopsReading(Simulation sim) {
        sim.network().hold(BETA, true);
        return sim.writeOneBlockEach(ALPHA, WRITES, MS / 2);
    }

    /** Beta reads again, but its answers are held: it sees everything alpha sent, alpha sees none of it. */
    private static void betaCatchesUpUnheard(Simulation sim) {
        sim.network().hold(ALPHA, true);
        sim.network().hold(BETA, false);
        sim.runFor(10 * MS);
    }

    private static CoreStatus status(Simulation sim, int node) {
        return sim.node(node).status();
    }

    /** Beta is Behind: Outdated, and refused promotion (here because alpha is Primary and connected). */
    private static void assertBehind(Simulation sim) {
        CoreStatus beta = status(sim, BETA);
        assertEquals(ReplicationState.BEHIND, beta.replication(), beta.toString());
        assertEquals(DiskState.OUTDATED, beta.disk(), "a Behind node's copy is not current: " + beta);
        assertTrue(beta.failover().diskNote().startsWith("behind alpha"), "status says why: " + beta.failover());
        assertEquals(CommandResult.REFUSED, sim.node(BETA).command(new Command.Primary(false)).exitCode());
    }

    /** Alpha went Ahead under protocol A (fencing outdate) and beta, having caught up, is Behind. */
    private static Simulation behindPair(List<Long> writes) {
        Simulation sim = pullAheadPair(ReplicationProtocol.A, FailoverPolicy.defaults());
        writes.addAll(writeWhileBetaStopsReading(sim));
        betaCatchesUpUnheard(sim);
        assertBehind(sim);
        return sim;
    }

    private static void assertNotPromotable(Simulation sim, boolean force, String why) {
        CommandResult result = sim.node(BETA).command(new Command.Primary(force));
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, result.exitCode(), why + ": " + result);
    }

    /** Both in sync again, through a resync with beta as target; the copies equal, every write kept. */
    private static void assertResyncedBack(Simulation sim, List<Long> writes) {
        sim.awaitInSync();
        assertTrue(sim.hooks.stream().anyMatch(h -> h.node() == BETA && h.name().equals("after-resync-target")),
                "beta caught up by a resync: " + sim.hooks);
        assertTrue(sim.hooks.stream().anyMatch(h -> h.node() == ALPHA && h.name().equals("after-resync-source")),
                "alpha sourced it: " + sim.hooks);
        assertEveryWriteKept(sim, writes);
    }

    /** Every write succeeded, and after healing the copies are equal and nothing is out of sync. */
    private static void assertEveryWriteKept(Simulation sim, List<Long> writes) {
        for (long id : writes) {
            assertEquals(0, sim.completion(id), "write " + id);
        }
        sim.heal();
        for (int block = 0; block < WRITES; block++) {
            assertEquals(sim.valueOn(ALPHA, block), sim.valueOn(BETA, block), "block " + block);
        }
        assertEquals(0, status(sim, ALPHA).outOfSyncBytes());
        assertEquals(0, status(sim, BETA).outOfSyncBytes());
    }

    @Test
    void aCongestedPrimaryPullsAheadItsPeerFallsBehindAndAResyncBringsItBack() {
        Simulation sim = pullAheadPair(ReplicationProtocol.A, FailoverPolicy.defaults());
        long dataBefore = sim.network().count(MessageType.DATA);
        long outOfSyncBefore = sim.network().count(MessageType.OUT_OF_SYNC);
        List<Long> writes = writeWhileBetaStopsReading(sim);

        CoreStatus alpha = status(sim, ALPHA);
        assertEquals(ReplicationState.AHEAD, alpha.replication(), "alpha pulled ahead at the fill: " + alpha);
        assertEquals(ConnectionState.CONNECTED, alpha.connection());
        long mirrored = sim.network().count(MessageType.DATA) - dataBefore;
        long marked = sim.network().count(MessageType.OUT_OF_SYNC) - outOfSyncBefore;
        // The write that crossed the fill went out before the core heard of it; after that none.
        assertTrue(mirrored * ONE_WRITE <= FILL_BYTES + ONE_WRITE, mirrored + " DATA sent; the fill is " + FILL_BYTES);
        assertTrue(mirrored < WRITES, "DATA stopped once Ahead");
        assertEquals(WRITES - mirrored, marked, "every write not mirrored was announced with OUT_OF_SYNC");
        assertEquals(marked * 4096, alpha.outOfSyncBytes(), "and marked in alpha's bitmap");
        // Ahead, a write goes at the local disk's pace: acknowledged while beta still reads nothing.
        for (int i = (int) mirrored; i < WRITES; i++) {
            assertEquals(0, sim.completion(writes.get(i)), "write " + i + " acknowledged while Ahead");
        }
        for (int i = 0; i < mirrored; i++) {
            assertEquals(0, sim.completion(writes.get(i)), "write " + i + " handed to the link");
        }

        betaCatchesUpUnheard(sim);
        assertBehind(sim);
        assertEquals(marked * 4096, status(sim, BETA).outOfSyncBytes(), "beta's bitmap has what OUT_OF_SYNC named");
        assertEquals(ReplicationState.AHEAD, status(sim, ALPHA).replication(), "Ahead until the link drains");

        sim.network().hold(ALPHA, false);
        assertResyncedBack(sim, writes);
    }

    /**
     * Under resource-and-stonith a Secondary that loses its Primary stays UpToDate and may be
     * promoted once the handler fenced the Primary: so Ahead writes wait until beta's STATE says
     * it knows it is behind, and only then are they acknowledged.
     */
    @Test
    void whereTheLostPeerCouldBePromotedAheadWritesWaitUntilItKnowsItIsBehind() {
        Simulation sim = pullAheadPair(ReplicationProtocol.A,
                FailoverPolicy.defaults().withFencing(FailoverPolicy.Fencing.RESOURCE_AND_STONITH));
        long dataBefore = sim.network().count(MessageType.DATA);
        List<Long> writes = writeWhileBetaStopsReading(sim);
        assertEquals(ReplicationState.AHEAD, status(sim, ALPHA).replication());
        long mirrored = sim.network().count(MessageType.DATA) - dataBefore;
        assertTrue(mirrored < WRITES, "DATA stopped once Ahead");
        for (int i = (int) mirrored; i < WRITES; i++) {
            assertNull(sim.completion(writes.get(i)), "write " + i + " waits: beta does not know it is behind");
        }
        assertEquals(0, sim.network().count(MessageType.OUT_OF_SYNC), "nothing was written alone yet");

        betaCatchesUpUnheard(sim);
        assertBehind(sim);
        for (int i = (int) mirrored; i < WRITES; i++) {
            assertNull(sim.completion(writes.get(i)), "write " + i + ": alpha has not heard beta yet");
        }

        sim.network().hold(ALPHA, false);
        assertResyncedBack(sim, writes);
    }

    /**
     * A Behind node that loses its peer, and even restarts, stays Outdated (never promotable
     * without --force); the next handshake finds the Ahead node's generation newer and resyncs
     * exactly what was marked.
     */
    @Test
    void aBehindNodeThatLosesItsPeerAndRestartsStaysOutdatedAndTheNextHandshakeResyncsIt() {
        List<Long> writes = new ArrayList<>();
        Simulation sim = behindPair(writes);

        sim.network().partition(true, true);
        sim.waitFor(() -> status(sim, BETA).connection() != ConnectionState.CONNECTED, 1000 * MS, "beta disconnected");
        assertEquals(DiskState.OUTDATED, status(sim, BETA).disk(), "the loss changes nothing: " + status(sim, BETA));
        assertNotPromotable(sim, false, "apart and behind");
        sim.network().hold(ALPHA, false);
        sim.kill(BETA, true);
        sim.node(BETA).boot();
        CoreStatus beta = status(sim, BETA);
        assertEquals(DiskState.OUTDATED, beta.disk(), "a restart finds it Outdated: " + beta);
        assertNotPromotable(sim, false, "restarted alone and behind");
        assertEquals(DiskState.UP_TO_DATE, status(sim, ALPHA).disk(), "alpha writes on alone");

        sim.network().partition(false, false);
        assertResyncedBack(sim, writes);
    }

    /**
     * A switchover to a Behind node: the old Primary's demotion is a goodbye, yet the Behind node
     * is refused (exit 17, even with --force while the UpToDate peer is connected) until the
     * resync, which the demoted Ahead node still sources, has made it current.
     */
    @Test
    void aSwitchoverToABehindNodeIsRefusedUntilTheResyncHasCaughtItUp() {
        List<Long> writes = new ArrayList<>();
        Simulation sim = behindPair(writes);
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        sim.runFor(2 * MS);
        assertNotPromotable(sim, false, "behind the old Primary, whose demotion was a goodbye");
        assertNotPromotable(sim, true, "the connected peer holds UpToDate data");

        sim.network().hold(ALPHA, false);
        sim.awaitInSync();
        assertEquals(ReplicationState.ESTABLISHED, status(sim, ALPHA).replication());
        assertTrue(sim.promoteNow(BETA).done(), "current again, beta is promoted");
        assertEveryWriteKept(sim, writes);
    }

    /**
     * As DRBD allows it: a write pulled ahead is acknowledged once local, which A promises and B
     * (the peer has received it) and C (the peer's disk has it) do not.
     */
    @ParameterizedTest
    @EnumSource(value = ReplicationProtocol.class, names = {"B", "C"})
    void blockIsTheDefaultAndPullAheadIsRefusedUnlessProtocolA(ReplicationProtocol protocol) {
        assertEquals(OnCongestion.BLOCK, CoreConfig.defaults("r0", protocol).onCongestion());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CoreConfig.defaults("r0", protocol).withOnCongestion(OnCongestion.PULL_AHEAD));
        assertTrue(e.getMessage().contains("needs protocol A"), e.getMessage());
        assertEquals(OnCongestion.PULL_AHEAD, CoreConfig.defaults("r0", ReplicationProtocol.A)
                .withOnCongestion(OnCongestion.PULL_AHEAD).onCongestion());
    }
}
