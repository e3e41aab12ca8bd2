package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.MessageType;
import java.nio.ByteBuffer;
import java.util.SortedMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Online verify on the simulator: a clean pair reports nothing, corrupted blocks are found exactly
 * (and repaired by disconnect and connect), writes during a verify cause no false report, a
 * disconnect stops it with the offset to resume from, and the refusals say why.
 */
class VerifyScenarioTest {
    private static final long MS = Simulation.MS;
    private static final int ALPHA = 0;
    private static final int BETA = 1;
    private static final int BLOCK = BlockPattern.BLOCK_BYTES;

    /** A connected pair, in sync, alpha Primary; 1 MiB (256 blocks), resync window 4. */
    private static Simulation inSyncPair(ReplicationProtocol protocol) {
        Simulation sim = new Simulation(11, Simulation.Options.of(protocol));
        sim.bootPair();
        sim.waitFor(sim::bothConnectedEstablished, 1000 * MS, "first handshake");
        sim.node(ALPHA).command(new Command.NewCurrentUuidClearBitmap());
        sim.awaitInSync();
        assertTrue(sim.promoteNow(ALPHA).done());
        for (int i = 0; i < 40; i++) {
            sim.write(ALPHA, 6 * i, 3, false);
        }
        sim.waitFor(() -> sim.outstanding.isEmpty(), 2000 * MS, "writes");
        sim.awaitInSync();
        return sim;
    }

    private static CoreStatus status(Simulation sim, int node) {
        return sim.node(node).status();
    }

    /** Runs verify on {@code node} to its end; returns the after-verify handler's environment. */
    private static SortedMap<String, String> verify(Simulation sim, int node, long start) {
        int before = sim.hooks.size();
        CommandResult result = sim.node(node).command(new Command.Verify(start));
        assertTrue(result.done(), result.toString());
        sim.waitFor(() -> afterVerify(sim, node, before) != null, 5000 * MS, "verify to finish");
        return afterVerify(sim, node, before);
    }

    private static SortedMap<String, String> afterVerify(Simulation sim, int node, int from) {
        for (int i = from; i < sim.hooks.size(); i++) {
            if (sim.hooks.get(i).node() == node && sim.hooks.get(i).name().equals("after-verify")) {
                return sim.hooks.get(i).env();
            }
        }
        return null;
    }

    private static boolean ran(Simulation sim, int node, String hook) {
        return sim.hooks.stream().anyMatch(h -> h.node() == node && h.name().equals(hook));
    }

    private static void corrupt(Simulation sim, int node, int block) {
        byte[] garbage = new byte[BLOCK];
        java.util.Arrays.fill(garbage, (byte) 0x5A);
        sim.corruptionInjected = true;
        sim.node(node).disk().write((long) block * BLOCK, ByteBuffer.wrap(garbage), true);
    }

    @ParameterizedTest
    @ValueSource(ints = {ALPHA, BETA})
    void aCleanPairReportsNothing(int verifier) {
        Simulation sim = inSyncPair(ReplicationProtocol.C);
        int before = sim.hooks.size();
        assertTrue(sim.node(verifier).command(new Command.Verify(0)).done());
        sim.runFor(1 * MS);
        assertEquals(ReplicationState.VERIFY_S, status(sim, verifier).replication());
        assertNotNull(status(sim, verifier).sync(), "progress while verifying");
        sim.waitFor(() -> status(sim, 1 - verifier).replication() == ReplicationState.VERIFY_T, 100 * MS, "VerifyT");
        assertNotNull(status(sim, 1 - verifier).sync(), "progress on the target too");
        sim.waitFor(() -> afterVerify(sim, verifier, before) != null, 5000 * MS, "verify to finish");
        SortedMap<String, String> env = afterVerify(sim, verifier, before);
        assertEquals("0", env.get("REPL_OOS_BLOCKS"));
        assertEquals("", env.get("REPL_OOS_RANGES"));
        assertEquals("CRC32C", env.get("REPL_VERIFY_ALG"));
        assertFalse(ran(sim, verifier, "out-of-sync"), "nothing to report");
        assertEquals(0, sim.network().count(MessageType.OUT_OF_SYNC));
        assertEquals(256 * BLOCK / (64 * 1024), sim.network().count(MessageType.OV_REQUEST), "one request per 64 KiB");
        assertEquals(ReplicationState.ESTABLISHED, status(sim, verifier).replication());
        sim.waitFor(() -> status(sim, 1 - verifier).replication() == ReplicationState.ESTABLISHED, 500 * MS,
                "the target leaves VerifyT");
        assertEquals(0, status(sim, ALPHA).outOfSyncBytes() + status(sim, BETA).outOfSyncBytes());
    }

    @ParameterizedTest
    @ValueSource(ints = {ALPHA, BETA})
    void findsExactlyTheCorruptedBlocksAndConnectRepairsThem(int verifier) {
        Simulation sim = inSyncPair(ReplicationProtocol.C);
        corrupt(sim, BETA, 3);
        corrupt(sim, BETA, 70);
        corrupt(sim, BETA, 71);
        corrupt(sim, BETA, 255);
        SortedMap<String, String> env = verify(sim, verifier, 0);
        assertEquals("4", env.get("REPL_OOS_BLOCKS"));
        assertEquals(Long.toString(4L * BLOCK), env.get("REPL_OOS_BYTES"));
        assertEquals((3 * BLOCK) + "+" + BLOCK + " " + (70 * BLOCK) + "+" + (2 * BLOCK) + " " + (255 * BLOCK) + "+"
                + BLOCK, env.get("REPL_OOS_RANGES"));
        assertTrue(ran(sim, verifier, "out-of-sync"));
        // Both bitmaps hold exactly those blocks: the peer's through OUT_OF_SYNC.
        sim.runFor(20 * MS);
        assertEquals(4L * BLOCK, status(sim, ALPHA).outOfSyncBytes());
        assertEquals(4L * BLOCK, status(sim, BETA).outOfSyncBytes());
        // Verify itself repairs nothing; disconnect and connect resyncs those blocks, and only them.
        assertTrue(sim.valueOn(ALPHA, 70) != -1 && sim.node(BETA).disk().read(70L * BLOCK, BLOCK).get(0) == 0x5A);
        long resyncBefore = sim.network().count(MessageType.RS_DATA);
        assertTrue(sim.node(verifier).command(new Command.Disconnect()).done());
        sim.waitFor(() -> status(sim, verifier).connection() == ConnectionState.STAND_ALONE, 500 * MS, "StandAlone");
        assertTrue(sim.node(verifier).command(new Command.Connect(false)).done());
        sim.awaitInSync();
        long resynced = sim.network().count(MessageType.RS_DATA) - resyncBefore;
        assertTrue(resynced >= 3 && resynced <= 4, "resync sent " + resynced + " RS_DATA for 3 runs of 4 blocks");
        for (int block : new int[] {3, 70, 71, 255}) {
            assertEquals(sim.valueOn(ALPHA, block), sim.valueOn(BETA, block), "block " + block + " repaired");
        }
        assertEquals("0", verify(sim, 1 - verifier, 0).get("REPL_OOS_BLOCKS"));
        sim.heal();
    }

    @ParameterizedTest
    @EnumSource(ReplicationProtocol.class)
    void writesDuringVerifyCauseNoFalseReport(ReplicationProtocol protocol) {
        for (int verifier : new int[] {ALPHA, BETA}) {
            Simulation sim = inSyncPair(protocol);
            int before = sim.hooks.size();
            assertTrue(sim.node(verifier).command(new Command.Verify(0)).done());
            int writes = 0;
            while (afterVerify(sim, verifier, before) == null) {
                if (sim.outstanding.size() < 16) {
                    // Overwrite what verify is about to compare, and elsewhere.
                    sim.issueRandomWrite(sim.node(ALPHA));
                    writes++;
                }
                sim.runFor(sim.random.nextLong(MS / 2));
            }
            assertTrue(writes > 20, "writes ran during the verify: " + writes);
            assertEquals("0", afterVerify(sim, verifier, before).get("REPL_OOS_BLOCKS"), sim.node(verifier).recentLog());
            sim.heal();
        }
    }

    @Test
    void aDisconnectStopsVerifyWithTheOffsetToResumeFrom() {
        Simulation sim = inSyncPair(ReplicationProtocol.C);
        corrupt(sim, BETA, 250);
        assertTrue(sim.node(BETA).command(new Command.Verify(0)).done());
        sim.waitFor(() -> sim.network().count(MessageType.OV_REPLY) >= 6, 500 * MS, "some answers");
        sim.network().cut();
        sim.waitFor(() -> status(sim, BETA).replication() != ReplicationState.VERIFY_S, 500 * MS, "stop");
        Matcher resume = Pattern.compile("resume with: replctl verify r0 --start (\\d+)")
                .matcher(sim.node(BETA).recentLog());
        assertTrue(resume.find(), sim.node(BETA).recentLog());
        long offset = Long.parseLong(resume.group(1));
        assertTrue(offset > 0 && offset < 250L * BLOCK && offset % BLOCK == 0, "resume at " + offset);
        assertFalse(ran(sim, BETA, "after-verify"), "a stopped verify does not finish");
        sim.awaitInSync();
        SortedMap<String, String> env = verify(sim, BETA, offset);
        assertEquals(Long.toString(offset), env.get("REPL_VERIFY_START"));
        assertEquals((250 * BLOCK) + "+" + BLOCK, env.get("REPL_OOS_RANGES"));
    }

    @Test
    void aRoleChangeStopsVerify() {
        Simulation sim = inSyncPair(ReplicationProtocol.C);
        assertTrue(sim.node(BETA).command(new Command.Verify(0)).done());
        sim.runFor(1 * MS);
        assertTrue(sim.node(ALPHA).command(new Command.Secondary(false, false)).done());
        sim.waitFor(() -> status(sim, BETA).replication() == ReplicationState.ESTABLISHED, 500 * MS, "stop");
        assertTrue(sim.node(BETA).recentLog().contains("online verify stopped: a role changed"),
                sim.node(BETA).recentLog());
        sim.waitFor(() -> sim.node(BETA).idle(), 500 * MS, "answers of the stopped verify drained");
        assertEquals("0", verify(sim, BETA, 0).get("REPL_OOS_BLOCKS"), "two Secondaries verify too");
    }

    @Test
    void refusalsSayWhy() {
        Simulation sim = new Simulation(11, Simulation.Options.of(ReplicationProtocol.C));
        sim.bootPair();
        sim.waitFor(sim::bothConnectedEstablished, 1000 * MS, "first handshake");
        CommandResult fresh = sim.node(ALPHA).command(new Command.Verify(0));
        assertEquals(CommandResult.REFUSED, fresh.exitCode());
        assertTrue(fresh.reason().contains("local disk is Inconsistent"), fresh.reason());
        assertTrue(sim.node(BETA).command(new Command.PauseSync()).done());
        assertTrue(sim.node(ALPHA).command(new Command.Primary(true)).done());
        sim.waitFor(() -> status(sim, BETA).replication() == ReplicationState.PAUSED_SYNC_T, 500 * MS, "PausedSyncT");
        CommandResult syncing = sim.node(BETA).command(new Command.Verify(0));
        assertEquals(CommandResult.REFUSED, syncing.exitCode());
        assertTrue(syncing.reason().contains("a resync is running (PausedSyncT)"), syncing.reason());
        CommandResult peerSyncing = sim.node(ALPHA).command(new Command.Verify(0));
        assertTrue(peerSyncing.reason().contains("a resync is running (PausedSyncS)"), peerSyncing.reason());
        assertTrue(sim.node(BETA).command(new Command.ResumeSync()).done());
        sim.awaitInSync();
        assertEquals(CommandResult.BAD_ARGUMENT, sim.node(ALPHA).command(new Command.Verify(100)).exitCode());
        CommandResult past = sim.node(ALPHA).command(new Command.Verify(1L << 20));
        assertEquals(CommandResult.BAD_ARGUMENT, past.exitCode());
        assertTrue(past.reason().contains("inside the device (1048576 bytes)"), past.reason());
        assertTrue(sim.node(ALPHA).command(new Command.Verify(0)).done());
        assertTrue(sim.node(ALPHA).command(new Command.Verify(0)).reason().contains("already running"));
        sim.runFor(1 * MS);
        assertTrue(sim.node(BETA).command(new Command.Verify(0)).reason().contains("alpha is verifying"));
        sim.waitFor(() -> status(sim, ALPHA).replication() == ReplicationState.ESTABLISHED, 5000 * MS, "verify done");
        assertTrue(sim.node(BETA).command(new Command.Disconnect()).done());
        sim.waitFor(() -> status(sim, BETA).connection() == ConnectionState.STAND_ALONE, 500 * MS, "StandAlone");
        CommandResult apart = sim.node(BETA).command(new Command.Verify(0));
        assertEquals(CommandResult.REFUSED, apart.exitCode());
        assertTrue(apart.reason().startsWith("not connected"), apart.reason());
    }
}
