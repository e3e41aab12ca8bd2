package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.AfterSplitBrain;
import io.repl.core.replication.AfterSplitBrain.OnePrimary;
import io.repl.core.replication.AfterSplitBrain.TwoPrimaries;
import io.repl.core.replication.AfterSplitBrain.ZeroPrimaries;
import io.repl.core.replication.Command;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.protocol.MessageType;
import io.repl.protocol.Role;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Each after-split-brain policy on the simulator: a split brain where its condition holds, which
 * it resolves by discarding the side it names (the survivor's writes reach the victim, the
 * victim's are gone, the split-brain handler says who lost), and one where it does not, which
 * stays apart as under disconnect.
 */
class SplitBrainPolicyScenarioTest {
    private static final long MS = Simulation.MS;
    private static final int ALPHA = 0;
    private static final int BETA = 1;
    /** Alpha writes from here, beta from {@link #BETA_FIRST}: the blocks tell whose writes survived. */
    private static final int ALPHA_FIRST = 10;
    private static final int BETA_FIRST = 100;

    /**
     * How the split brain is made.
     *
     * @param alphaPrimaryAtSplit alpha is Primary when the link breaks (else it is demoted first
     *     and promoted later, a "younger" Primary like beta)
     * @param alphaBlocks, betaBlocks blocks each writes while apart
     * @param alphaPrimary, betaPrimary the roles when the link comes back
     */
    private record Split(boolean alphaPrimaryAtSplit, int alphaBlocks, int betaBlocks, boolean alphaPrimary,
                         boolean betaPrimary) {
    }

    private static AfterSplitBrain policy(ZeroPrimaries zero, OnePrimary one) {
        return new AfterSplitBrain(zero, one, TwoPrimaries.DISCONNECT);
    }

    private static void writeAndWait(Simulation sim, int node, int first, int count) {
        if (count == 0) {
            return;
        }
        long id = sim.write(node, first, count, false);
        sim.waitFor(() -> sim.completion(id) != null, 2000 * MS, "write " + id);
        assertEquals(0, sim.completion(id));
    }

    private static void demote(Simulation sim, int node) {
        assertTrue(sim.node(node).command(new Command.Secondary(false, false)).done());
    }

    /** Makes the split brain, heals the link, and returns once the nodes resolved it or stayed apart. */
    private static Simulation splitBrain(AfterSplitBrain policy, Split split) {
        Simulation sim = new Simulation(13, Simulation.Options.of(ReplicationProtocol.C).with(policy));
        sim.bootInSyncWithPrimary(ALPHA);
        if (!split.alphaPrimaryAtSplit()) {
            demote(sim, ALPHA);
            sim.runFor(5 * MS);
        }
        sim.network().partition(true, true);
        sim.waitFor(() -> sim.node(ALPHA).status().connection() != ConnectionState.CONNECTED
                && sim.node(BETA).status().connection() != ConnectionState.CONNECTED, 1000 * MS, "partition");
        if (!split.alphaPrimaryAtSplit()) {
            assertTrue(sim.node(ALPHA).command(new Command.Primary(true)).done());
        }
        assertTrue(sim.node(BETA).command(new Command.Primary(true)).done());
        writeAndWait(sim, ALPHA, ALPHA_FIRST, split.alphaBlocks());
        writeAndWait(sim, BETA, BETA_FIRST, split.betaBlocks());
        if (!split.alphaPrimary()) {
            demote(sim, ALPHA);
        }
        if (!split.betaPrimary()) {
            demote(sim, BETA);
        }
        sim.network().partition(false, false);
        sim.waitFor(() -> sim.node(ALPHA).status().connection() == ConnectionState.STAND_ALONE
                || sim.node(BETA).status().connection() == ConnectionState.STAND_ALONE
                || sim.bothConnectedEstablished() && sim.node(ALPHA).idle() && sim.node(BETA).idle()
                && sim.node(ALPHA).status().outOfSyncBytes() == 0 && sim.node(BETA).status().outOfSyncBytes() == 0,
                3000 * MS, "the split brain resolved or refused");
        return sim;
    }

    private static List<Simulation.FiredHook> splitBrainHooks(Simulation sim) {
        return sim.hooks.stream().filter(h -> h.name().equals("split-brain")).toList();
    }

    /** The policy discarded {@code victim}: its writes are gone, the survivor's are on both, the handler said so. */
    private static void assertDiscarded(Simulation sim, int victim, Split split, String policy) {
        sim.awaitInSync();
        int survivor = 1 - victim;
        int survivorFirst = survivor == ALPHA ? ALPHA_FIRST : BETA_FIRST;
        int victimFirst = victim == ALPHA ? ALPHA_FIRST : BETA_FIRST;
        int survivorBlocks = survivor == ALPHA ? split.alphaBlocks() : split.betaBlocks();
        int victimBlocks = victim == ALPHA ? split.alphaBlocks() : split.betaBlocks();
        for (int i = 0; i < survivorBlocks; i++) {
            assertNotEquals(0, sim.valueOn(victim, survivorFirst + i), "the survivor's write reached the victim");
            assertEquals(sim.valueOn(survivor, survivorFirst + i), sim.valueOn(victim, survivorFirst + i));
        }
        for (int i = 0; i < victimBlocks; i++) {
            assertEquals(0, sim.valueOn(victim, victimFirst + i), "the victim's own write was discarded");
            assertEquals(0, sim.valueOn(survivor, victimFirst + i));
        }
        List<Simulation.FiredHook> hooks = splitBrainHooks(sim);
        assertEquals(2, hooks.size(), "the split-brain handler ran on both nodes: " + hooks);
        for (Simulation.FiredHook hook : hooks) {
            assertEquals(policy, hook.env().get("REPL_POLICY"));
            assertEquals(hook.node() == victim ? "local" : "peer", hook.env().get("REPL_VICTIM"), hook.toString());
            assertEquals(Integer.toString(hook.node() == victim ? victimBlocks : survivorBlocks),
                    hook.env().get("REPL_CHANGED_BLOCKS_LOCAL"));
        }
        assertTrue(sim.node(victim).recentLog().contains("resolved by " + policy), sim.node(victim).recentLog());
        assertTrue(sim.node(victim).recentLog().contains("this node discards its changes"));
        sim.heal();
    }

    /** The policy's condition did not hold: split brain as under disconnect, nothing resynced. */
    private static void assertStayedApart(Simulation sim, String policy) {
        sim.waitFor(() -> sim.node(ALPHA).status().connection() == ConnectionState.STAND_ALONE
                && sim.node(BETA).status().connection() == ConnectionState.STAND_ALONE, 1000 * MS, "both StandAlone");
        assertEquals(0, sim.network().count(MessageType.RS_DATA), "nothing was resynced");
        assertTrue(sim.node(ALPHA).status().standAloneReason().startsWith("split brain"));
        for (Simulation.FiredHook hook : splitBrainHooks(sim)) {
            assertEquals(policy, hook.env().get("REPL_POLICY"));
            assertTrue(!hook.env().containsKey("REPL_VICTIM"), hook.toString());
        }
    }

    // ---------------------------------------------------------------- after-sb-0pri

    @Test
    void discardZeroChangesDiscardsTheSideThatWroteNothing() {
        Split split = new Split(true, 3, 0, false, false);
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCARD_ZERO_CHANGES, OnePrimary.DISCONNECT), split);
        assertDiscarded(sim, BETA, split, "after-sb-0pri=discard-zero-changes");
    }

    @Test
    void discardZeroChangesStaysApartWhenBothWrote() {
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCARD_ZERO_CHANGES, OnePrimary.DISCONNECT),
                new Split(true, 3, 1, false, false));
        assertStayedApart(sim, "after-sb-0pri=discard-zero-changes");
    }

    @Test
    void discardLeastChangesDiscardsTheSideWithFewerChangedBlocks() {
        Split split = new Split(true, 2, 5, false, false);
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCARD_LEAST_CHANGES, OnePrimary.DISCONNECT), split);
        assertDiscarded(sim, ALPHA, split, "after-sb-0pri=discard-least-changes");
    }

    @Test
    void discardLeastChangesStaysApartOnATie() {
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCARD_LEAST_CHANGES, OnePrimary.DISCONNECT),
                new Split(true, 4, 4, false, false));
        assertStayedApart(sim, "after-sb-0pri=discard-least-changes");
    }

    @Test
    void discardYoungerPrimaryDiscardsTheNodePromotedAfterTheSplit() {
        // Beta was promoted after the link broke, alpha was Primary through it: beta loses even
        // though it wrote more.
        Split split = new Split(true, 1, 6, false, false);
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCARD_YOUNGER_PRIMARY, OnePrimary.DISCONNECT), split);
        assertDiscarded(sim, BETA, split, "after-sb-0pri=discard-younger-primary");
    }

    @Test
    void discardYoungerPrimaryStaysApartWhenBothWerePromotedAfterTheSplit() {
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCARD_YOUNGER_PRIMARY, OnePrimary.DISCONNECT),
                new Split(false, 1, 6, false, false));
        assertStayedApart(sim, "after-sb-0pri=discard-younger-primary");
    }

    @Test
    void discardOlderPrimaryDiscardsTheNodeThatWasPrimaryAtTheSplit() {
        Split split = new Split(true, 6, 1, false, false);
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCARD_OLDER_PRIMARY, OnePrimary.DISCONNECT), split);
        assertDiscarded(sim, ALPHA, split, "after-sb-0pri=discard-older-primary");
    }

    @Test
    void discardOlderPrimaryStaysApartWhenNeitherWasPrimaryAtTheSplit() {
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCARD_OLDER_PRIMARY, OnePrimary.DISCONNECT),
                new Split(false, 6, 1, false, false));
        assertStayedApart(sim, "after-sb-0pri=discard-older-primary");
    }

    @Test
    void zeroPrimariesPoliciesDoNotApplyWithAPrimary() {
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCARD_ZERO_CHANGES, OnePrimary.DISCONNECT),
                new Split(true, 3, 0, true, false));
        assertStayedApart(sim, "after-sb-1pri=disconnect");
    }

    // ---------------------------------------------------------------- after-sb-1pri

    @Test
    void discardSecondaryDiscardsTheSecondaryWhateverItWrote() {
        Split split = new Split(true, 1, 7, true, false);
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCONNECT, OnePrimary.DISCARD_SECONDARY), split);
        assertEquals(Role.PRIMARY, sim.node(ALPHA).status().role());
        assertDiscarded(sim, BETA, split, "after-sb-1pri=discard-secondary");
    }

    @Test
    void discardSecondaryDiscardsTheOldPrimaryWhenTheOtherNodeIsPrimaryNow() {
        Split split = new Split(true, 7, 1, false, true);
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCONNECT, OnePrimary.DISCARD_SECONDARY), split);
        assertDiscarded(sim, ALPHA, split, "after-sb-1pri=discard-secondary");
    }

    @Test
    void consensusDiscardsTheSecondaryWhereTheZeroPrimariesPolicyAgrees() {
        Split split = new Split(true, 3, 0, true, false);
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCARD_ZERO_CHANGES, OnePrimary.CONSENSUS), split);
        assertDiscarded(sim, BETA, split, "after-sb-1pri=consensus with after-sb-0pri=discard-zero-changes");
    }

    @Test
    void consensusNeverDiscardsThePrimary() {
        // Zero changes would discard the Primary (alpha wrote nothing): consensus stays apart.
        Simulation sim = splitBrain(policy(ZeroPrimaries.DISCARD_ZERO_CHANGES, OnePrimary.CONSENSUS),
                new Split(true, 0, 3, true, false));
        assertStayedApart(sim, "after-sb-1pri=consensus with after-sb-0pri=discard-zero-changes");
    }

    // ---------------------------------------------------------------- after-sb-2pri

    @Test
    void twoPrimariesAlwaysStayApart() {
        Simulation sim = splitBrain(new AfterSplitBrain(ZeroPrimaries.DISCARD_ZERO_CHANGES,
                OnePrimary.DISCARD_SECONDARY, TwoPrimaries.DISCONNECT), new Split(true, 3, 0, true, true));
        assertStayedApart(sim, "after-sb-2pri=disconnect");
    }
}
