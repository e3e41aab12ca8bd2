package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.Command;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.Hook;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import org.junit.jupiter.api.Test;

/**
 * Every {@link Hook} the core can fire, fired by the event it is named for, on the node it is
 * documented for, with its documented environment (README, "Handlers"). The agent accepts
 * exactly these names in {@code [handlers]}, so this is what makes each accepted name true.
 */
class HooksTest {
    private static final long MS = Simulation.MS;
    private static final int ALPHA = 0;
    private static final int BETA = 1;

    /** The scenario below that fires each hook; a new hook without one fails {@link #everyHookHasAScenario}. */
    private static final Map<Hook, String> SCENARIO = scenarios();

    private static Map<Hook, String> scenarios() {
        Map<Hook, String> m = new EnumMap<>(Hook.class);
        m.put(Hook.AFTER_PROMOTE, "afterPromoteAndAfterDemoteFollowTheRoleChanges");
        m.put(Hook.AFTER_DEMOTE, "afterPromoteAndAfterDemoteFollowTheRoleChanges");
        m.put(Hook.BEFORE_RESYNC_SOURCE, "aResyncRunsTheSourceHooksOnTheSourceAndTheTargetHooksOnTheTarget");
        m.put(Hook.AFTER_RESYNC_SOURCE, "aResyncRunsTheSourceHooksOnTheSourceAndTheTargetHooksOnTheTarget");
        m.put(Hook.BEFORE_RESYNC_TARGET, "aResyncRunsTheSourceHooksOnTheSourceAndTheTargetHooksOnTheTarget");
        m.put(Hook.AFTER_RESYNC_TARGET, "aResyncRunsTheSourceHooksOnTheSourceAndTheTargetHooksOnTheTarget");
        m.put(Hook.SPLIT_BRAIN, "splitBrainRunsOnBothNodesWithTheRule");
        m.put(Hook.FENCE_PEER, "underOutdateAPrimaryThatLosesItsPeerRunsFencePeer");
        m.put(Hook.UNFENCE_PEER, "unfencePeerRunsOnceTheFencedPeerIsInSyncAgain");
        m.put(Hook.OUT_OF_SYNC, "verifyRunsAfterVerifyAlwaysAndOutOfSyncWithTheBlocksItFound");
        m.put(Hook.AFTER_VERIFY, "verifyRunsAfterVerifyAlwaysAndOutOfSyncWithTheBlocksItFound");
        m.put(Hook.LOCAL_IO_ERROR, "aFailedPeerWriteRunsLocalIoErrorWithTheDetail");
        return m;
    }

    private static Simulation pair(FailoverPolicy policy) {
        Simulation sim = new Simulation(7, Simulation.Options.of(ReplicationProtocol.C).with(policy));
        sim.bootPair();
        sim.waitFor(sim::bothConnectedEstablished, 1000 * MS, "first handshake");
        return sim;
    }

    /** Alpha Primary, both UpToDate without a sync, no hook run yet. */
    private static Simulation inSyncPrimary(FailoverPolicy policy) {
        Simulation sim = pair(policy);
        assertTrue(sim.node(ALPHA).command(new Command.NewCurrentUuidClearBitmap()).done());
        sim.awaitInSync();
        assertTrue(sim.promoteNow(ALPHA).done());
        sim.runFor(20 * MS);
        sim.hooks.clear();
        return sim;
    }

    private static List<String> names(Simulation sim, int node) {
        return sim.hooks.stream().filter(h -> h.node() == node).map(Simulation.FiredHook::name).toList();
    }

    private static SortedMap<String, String> env(Simulation sim, int node, Hook hook) {
        return sim.hooks.stream().filter(h -> h.node() == node && h.name().equals(hook.configName()))
                .map(Simulation.FiredHook::env).findFirst()
                .orElseThrow(() -> new AssertionError(hook.configName() + " did not run on node " + node
                        + "; ran: " + sim.hooks));
    }

    /** REPL_RESOURCE and REPL_PEER, which every handler gets from the core. */
    private static void assertCommonEnv(SortedMap<String, String> env, String peer) {
        assertEquals("r0", env.get("REPL_RESOURCE"), env.toString());
        assertEquals(peer, env.get("REPL_PEER"), env.toString());
    }

    @Test
    void afterPromoteAndAfterDemoteFollowTheRoleChanges() {
        Simulation sim = pair(FailoverPolicy.defaults());
        assertTrue(sim.node(ALPHA).command(new Command.NewCurrentUuidClearBitmap()).done());
        sim.awaitInSync();
        sim.hooks.clear();
        assertTrue(sim.promoteNow(ALPHA).done());
        sim.runFor(20 * MS);
        assertEquals(List.of("after-promote"), names(sim, ALPHA));
        assertCommonEnv(env(sim, ALPHA, Hook.AFTER_PROMOTE), "beta");
        assertEquals(List.of(), names(sim, BETA), "the peer's role did not change");
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        sim.runFor(20 * MS);
        assertEquals(List.of("after-promote", "after-demote"), names(sim, ALPHA));
        assertCommonEnv(env(sim, ALPHA, Hook.AFTER_DEMOTE), "beta");
        sim.heal();
    }

    @Test
    void aResyncRunsTheSourceHooksOnTheSourceAndTheTargetHooksOnTheTarget() {
        Simulation sim = pair(FailoverPolicy.defaults());
        sim.hooks.clear();
        // A forced first promotion makes alpha the source of a full sync.
        assertTrue(sim.node(ALPHA).command(new Command.Primary(true)).done());
        sim.awaitInSync();
        assertEquals(List.of("after-promote", "before-resync-source", "after-resync-source"), names(sim, ALPHA));
        assertEquals(List.of("before-resync-target", "after-resync-target"), names(sim, BETA));
        assertCommonEnv(env(sim, ALPHA, Hook.BEFORE_RESYNC_SOURCE), "beta");
        assertCommonEnv(env(sim, ALPHA, Hook.AFTER_RESYNC_SOURCE), "beta");
        assertCommonEnv(env(sim, BETA, Hook.BEFORE_RESYNC_TARGET), "alpha");
        assertCommonEnv(env(sim, BETA, Hook.AFTER_RESYNC_TARGET), "alpha");
        sim.heal();
    }

    @Test
    void splitBrainRunsOnBothNodesWithTheRule() {
        Simulation sim = inSyncPrimary(FailoverPolicy.defaults());
        sim.network().partition(true, true);
        sim.waitFor(() -> sim.node(BETA).status().connection() != ConnectionState.CONNECTED, 1000 * MS, "cut");
        assertTrue(sim.node(BETA).command(new Command.Primary(true)).done());
        sim.write(ALPHA, 5, 1, false);
        sim.write(BETA, 6, 1, false);
        sim.runFor(50 * MS);
        sim.network().partition(false, false);
        sim.waitFor(() -> sim.node(ALPHA).status().connection() == ConnectionState.STAND_ALONE
                && sim.node(BETA).status().connection() == ConnectionState.STAND_ALONE, 2000 * MS, "split brain");
        for (int node : new int[] {ALPHA, BETA}) {
            SortedMap<String, String> env = env(sim, node, Hook.SPLIT_BRAIN);
            assertCommonEnv(env, node == ALPHA ? "beta" : "alpha");
            assertNotNull(env.get("REPL_RULE"), env.toString());
            assertFalse(env.get("REPL_RULE").isBlank(), env.toString());
        }
    }

    @Test
    void underOutdateAPrimaryThatLosesItsPeerRunsFencePeer() {
        Simulation sim = inSyncPrimary(FailoverPolicy.defaults());
        sim.crash(BETA, false);
        sim.waitFor(() -> sim.node(ALPHA).status().connection() != ConnectionState.CONNECTED, 1000 * MS, "loss");
        sim.runFor(20 * MS);
        assertEquals(List.of("fence-peer"), names(sim, ALPHA), "fire and forget: no answer is waited for");
        assertCommonEnv(env(sim, ALPHA, Hook.FENCE_PEER), "beta");
        assertTrue(sim.fenceRequests.isEmpty(), "outdate does not wait for the handler's exit code");
        sim.heal();
    }

    @Test
    void unfencePeerRunsOnceTheFencedPeerIsInSyncAgain() {
        Simulation sim = inSyncPrimary(FailoverPolicy.defaults().withFencing(FailoverPolicy.Fencing.RESOURCE_AND_STONITH));
        sim.network().partition(true, true);
        sim.waitFor(() -> sim.node(ALPHA).status().connection() != ConnectionState.CONNECTED, 1000 * MS, "cut");
        assertEquals(1, sim.fenceRequests.size(), "resource-and-stonith waits for fence-peer's exit code");
        sim.answerFence(ALPHA, 7);
        sim.runFor(20 * MS);
        assertFalse(names(sim, ALPHA).contains("unfence-peer"), "beta is fenced and not in sync yet");
        sim.network().partition(false, false);
        sim.awaitInSync();
        sim.runFor(20 * MS);
        assertEquals(1, names(sim, ALPHA).stream().filter("unfence-peer"::equals).count(), sim.hooks.toString());
        assertCommonEnv(env(sim, ALPHA, Hook.UNFENCE_PEER), "beta");
        assertFalse(names(sim, BETA).contains("unfence-peer"), "beta fenced nobody");
        sim.heal();
    }

    @Test
    void aFailedPeerWriteRunsLocalIoErrorWithTheDetail() {
        Simulation sim = inSyncPrimary(FailoverPolicy.defaults());
        sim.node(BETA).failWrites(true);
        sim.write(ALPHA, 3, 1, false);
        // on-io-error detach, the default: beta drops its disk and stays connected, Diskless.
        sim.waitFor(() -> sim.node(BETA).status().disk() == DiskState.DISKLESS, 1000 * MS, "beta to detach its disk");
        SortedMap<String, String> env = env(sim, BETA, Hook.LOCAL_IO_ERROR);
        assertCommonEnv(env, "alpha");
        assertTrue(env.get("REPL_DETAIL").contains("failed with errno 5"), env.toString());
        assertFalse(names(sim, ALPHA).contains("local-io-error"), "alpha's disk is fine");
    }

    @Test
    void verifyRunsAfterVerifyAlwaysAndOutOfSyncWithTheBlocksItFound() {
        Simulation sim = inSyncPrimary(FailoverPolicy.defaults());
        assertTrue(sim.node(BETA).command(new Command.Verify(0)).done());
        sim.waitFor(() -> names(sim, BETA).contains("after-verify"), 5000 * MS, "a clean verify");
        SortedMap<String, String> clean = env(sim, BETA, Hook.AFTER_VERIFY);
        assertCommonEnv(clean, "alpha");
        assertEquals("0", clean.get("REPL_OOS_BLOCKS"), clean.toString());
        assertEquals("0", clean.get("REPL_OOS_BYTES"));
        assertEquals("0", clean.get("REPL_VERIFY_START"));
        assertFalse(names(sim, BETA).contains("out-of-sync"), "nothing found, no out-of-sync");
        assertFalse(names(sim, ALPHA).contains("after-verify"), "handlers run where verify ran");
        // Twenty separate blocks differ: the first sixteen runs are named, the rest counted.
        sim.corruptionInjected = true;
        for (int i = 0; i < 20; i++) {
            sim.node(BETA).disk().write(8192L * (i + 1), java.nio.ByteBuffer.wrap(new byte[4096]), true);
            sim.write(ALPHA, 2 * (i + 1), 1, false);
        }
        sim.waitFor(() -> sim.outstanding.isEmpty(), 1000 * MS, "writes");
        for (int i = 0; i < 20; i++) {
            sim.node(BETA).disk().write(8192L * (i + 1), java.nio.ByteBuffer.wrap(new byte[4096]), true);
        }
        sim.hooks.clear();
        sim.waitFor(() -> sim.node(ALPHA).status().replication() == ReplicationState.ESTABLISHED, 500 * MS,
                "alpha to see that beta's verify ended");
        assertTrue(sim.node(ALPHA).command(new Command.Verify(16384)).done());
        sim.waitFor(() -> names(sim, ALPHA).contains("out-of-sync"), 5000 * MS, "verify to find them");
        SortedMap<String, String> found = env(sim, ALPHA, Hook.OUT_OF_SYNC);
        assertCommonEnv(found, "beta");
        assertEquals("19", found.get("REPL_OOS_BLOCKS"), found.toString());
        assertEquals(Long.toString(19 * 4096), found.get("REPL_OOS_BYTES"));
        assertEquals("16384", found.get("REPL_VERIFY_START"));
        assertEquals("CRC32C", found.get("REPL_VERIFY_ALG"));
        String ranges = found.get("REPL_OOS_RANGES");
        assertTrue(ranges.startsWith("16384+4096 24576+4096 "), ranges);
        assertTrue(ranges.endsWith(" 139264+4096 and 3 more"), ranges);
        assertEquals(found, env(sim, ALPHA, Hook.AFTER_VERIFY));
    }

    @Test
    void everyHookHasAScenario() {
        assertEquals(Arrays.asList(Hook.values()), List.copyOf(SCENARIO.keySet()));
        for (String method : SCENARIO.values()) {
            assertTrue(Arrays.stream(HooksTest.class.getDeclaredMethods()).map(Method::getName)
                    .anyMatch(method::equals), method);
        }
    }
}
