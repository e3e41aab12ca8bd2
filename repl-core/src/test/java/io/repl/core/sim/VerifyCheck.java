package io.repl.core.sim;

import static io.repl.core.sim.Simulation.MS;

import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import java.nio.ByteBuffer;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * The end of every run, after healing: up to three blocks of the Secondary's disk are corrupted
 * behind its core's back, and an online verify from either node, while the Primary writes, must
 * report exactly the corrupted blocks that no write replaced meanwhile (never another one). The
 * healing that follows (disconnect and connect, as an operator does) must then repair them: the
 * final checks want byte-identical copies holding every acknowledged write.
 */
final class VerifyCheck {
    private static final long VERIFY_NANOS_MAX = 60_000 * MS;
    private final Simulation sim;

    VerifyCheck(Simulation sim) {
        this.sim = sim;
    }

    void run() {
        // Disks fail no more: a detach now, and the full resync of the attach that follows, could
        // copy the corruption to the good side (a double fault, which nothing covers).
        for (SimNode node : sim.nodes) {
            node.healDisk();
        }
        // What the random steps scheduled (an attach, a fence-peer handler's answer) happens first.
        sim.runFor(3000 * MS);
        sim.heal();
        SimNode primary = sim.primary();
        if (primary == null) {
            // Two Secondaries: a disconnect does not resync marked blocks (neither starts a new
            // generation), so the copies are left as they are; verify must find them equal.
            expectClean();
            return;
        }
        SimNode secondary = sim.other(primary);
        // The data area, which an online resize may have left smaller than the disk.
        int blocks = (int) (secondary.dataBytes() / BlockPattern.BLOCK_BYTES);
        TreeSet<Integer> corrupted = new TreeSet<>();
        int count = sim.random.nextInt(4);
        for (int i = 0; i < count; i++) {
            corrupted.add(sim.random.nextInt(blocks));
        }
        sim.corruptionInjected = true;
        for (int block : corrupted) {
            byte[] garbage = new byte[BlockPattern.BLOCK_BYTES];
            for (int j = 0; j < garbage.length; j++) {
                garbage[j] = (byte) (0xA5 ^ sim.random.nextInt(256));
            }
            secondary.disk().write((long) block * BlockPattern.BLOCK_BYTES, ByteBuffer.wrap(garbage), true);
            secondary.note("corrupted block " + block + " behind the core's back");
        }
        TreeSet<Integer> written = new TreeSet<>();
        int restarts = sim.nodes[0].incarnation() + sim.nodes[1].incarnation();
        SortedMap<String, String> env = verifyWhileWriting(primary, written);
        // A crash meanwhile (a fence-peer handler's stonith) resyncs more than was written: the
        // corrupted blocks may be repaired before verify sees them.
        boolean crashed = sim.nodes[0].incarnation() + sim.nodes[1].incarnation() != restarts;
        TreeSet<Integer> last = blocksOf(env.get("REPL_OOS_RANGES"));
        if (Long.parseLong(env.get("REPL_OOS_BLOCKS")) != last.size()) {
            throw sim.failure("verify counted " + env.get("REPL_OOS_BLOCKS") + " blocks but listed " + last, null);
        }
        // Every report, also of a verify stopped part way (a pull-ahead, say) and run again.
        TreeSet<Integer> reported = new TreeSet<>();
        for (String line : sim.verifyReports) {
            reported.addAll(blocksOf(line.substring("verify: ".length(), line.indexOf(' ', "verify: ".length()))));
        }
        if (!reported.containsAll(last)) {
            throw sim.failure("the handler's ranges " + last + " are not among the blocks logged " + reported, null);
        }
        for (int block : reported) {
            if (!corrupted.contains(block)) {
                throw sim.failure("verify reported block " + block + ", which was never corrupted (corrupted "
                        + corrupted + ")", null);
            }
        }
        for (int block : corrupted) {
            if (!crashed && !written.contains(block) && !reported.contains(block)) {
                throw sim.failure("verify missed corrupted block " + block + " (reported " + reported + ")", null);
            }
        }
        if (!reported.isEmpty()) {
            sim.exercised.add(Fault.VERIFY_FOUND_CORRUPTION);
        }
        for (SimNode node : sim.nodes) {
            if (!node.up()) {
                node.boot();
            }
        }
        if (sim.nodes[0].status().outOfSyncBytes() > 0 || sim.nodes[1].status().outOfSyncBytes() > 0) {
            // The operator resyncs what verify found: disconnect and connect, on either node.
            SimNode operator = sim.nodes[sim.random.nextInt(2)];
            sim.expectDone(operator.command(new Command.Disconnect()));
            sim.waitFor(() -> operator.status().connection() == ConnectionState.STAND_ALONE, 2000 * MS, "disconnect");
            sim.expectDone(operator.command(new Command.Connect(false)));
        }
        sim.heal();
        expectClean();
    }

    private void expectClean() {
        SortedMap<String, String> env = verifyWhileWriting(sim.primary(), new TreeSet<>());
        if (!"0".equals(env.get("REPL_OOS_BLOCKS"))) {
            throw sim.failure("verify of equal copies reported " + env, null);
        }
    }

    /**
     * Runs verify on a random node while {@code writer} (if any) writes, again from the start if a
     * fault (a pull-ahead, a fence-peer handler's stonith) stops it; returns the environment of the after-verify handler. The
     * verifier's handlers must match its finding: after-verify always, out-of-sync only with
     * blocks found; and its bitmap holds the blocks at that moment.
     */
    private SortedMap<String, String> verifyWhileWriting(SimNode writer, TreeSet<Integer> written) {
        long deadline = sim.now() + VERIFY_NANOS_MAX;
        SimNode verifier = sim.nodes[sim.random.nextInt(2)];
        int hooksBefore = sim.hooks.size();
        int stopsBefore = sim.verifyStops;
        boolean started = false;
        while (true) {
            if (sim.now() > deadline) {
                throw sim.failure("verify did not finish: " + verifier.status(), null);
            }
            for (int i = hooksBefore; i < sim.hooks.size(); i++) {
                Simulation.FiredHook hook = sim.hooks.get(i);
                if (hook.node() == verifier.index() && hook.name().equals("after-verify")) {
                    SortedMap<String, String> env = hook.env();
                    long found = Long.parseLong(env.get("REPL_OOS_BLOCKS"));
                    boolean handler = sim.hooks.subList(hooksBefore, sim.hooks.size()).stream()
                            .anyMatch(h -> h.node() == verifier.index() && h.name().equals("out-of-sync"));
                    if (handler != found > 0) {
                        throw sim.failure("the out-of-sync handler ran: " + handler + ", with " + found + " found", null);
                    }
                    if (hook.outOfSyncBytes() < found * BlockPattern.BLOCK_BYTES) {
                        throw sim.failure("the verifier's bitmap lacks what it found: " + hook.outOfSyncBytes()
                                + " bytes out of sync when after-verify ran; " + verifier.status(), null);
                    }
                    sim.waitFor(() -> sim.outstanding.isEmpty(), 5000 * MS, "writes during verify");
                    return env;
                }
            }
            for (SimNode node : sim.nodes) {
                if (!node.up()) {
                    node.boot();
                } else if (node.status().disk() == DiskState.FAILED) {
                    // A disk that failed before the check began: the operator restarts the node.
                    sim.forgetOutstanding(node.index());
                    node.restartProcess();
                } else if (node.status().replication() == ReplicationState.PAUSED_SYNC_S
                        || node.status().replication() == ReplicationState.PAUSED_SYNC_T) {
                    // A pause set while the pair was Established outlives the healing (there was no
                    // resync to resume then); the resync a pull-ahead starts here inherits it, and
                    // verify waits for it. The operator resumes it.
                    node.command(new Command.ResumeSync());
                }
            }
            if (!started || sim.verifyStops > stopsBefore || !verifier.up()
                    || verifier.status().replication() != ReplicationState.VERIFY_S) {
                stopsBefore = sim.verifyStops;
                hooksBefore = sim.hooks.size();
                CommandResult result = !verifier.up() ? CommandResult.refused("down", "")
                        : verifier.command(new Command.Verify(0));
                // Refused while the pair is not in sync (a pull-ahead resyncs, a link reconnects): again later.
                started = result.done();
                if (result.exitCode() != CommandResult.DONE && result.exitCode() != CommandResult.REFUSED) {
                    throw sim.failure("verify failed on a healed pair: " + result, null);
                }
            }
            if (writer != null && writer.up() && writer.status().role() == Role.PRIMARY && sim.random.nextInt(3) == 0
                    && sim.outstanding.size() < Simulation.OUTSTANDING_MAX) {
                Simulation.Pending pending = sim.outstanding.get(sim.issueRandomWrite(writer));
                for (int i = 0; i < pending.versions().length; i++) {
                    written.add(pending.firstBlock() + i);
                }
            }
            sim.runFor(sim.random.nextLong(3 * MS));
        }
    }

    /** "offset+length offset+length ..." as block numbers. */
    static TreeSet<Integer> blocksOf(String ranges) {
        TreeSet<Integer> blocks = new TreeSet<>();
        if (ranges == null || ranges.isEmpty()) {
            return blocks;
        }
        for (String range : ranges.split(" ")) {
            String[] parts = range.split("\\+");
            long offset = Long.parseLong(parts[0]);
            long length = Long.parseLong(parts[1]);
            for (long b = offset / BlockPattern.BLOCK_BYTES; b < (offset + length) / BlockPattern.BLOCK_BYTES; b++) {
                blocks.add((int) b);
            }
        }
        return blocks;
    }
}
