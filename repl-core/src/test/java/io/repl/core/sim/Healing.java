package io.repl.core.sim;

import static io.repl.core.sim.Simulation.MS;

import io.repl.core.replication.Command;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;

/**
 * The end of a run: every fault ends, crashed participants restart, and an operator resolves
 * what needs an operator (a split brain, unrelated data, both copies thrown away) the way the
 * README says. Then both copies must become UpToDate and Established, byte-identical, holding
 * every acknowledged write.
 *
 * <p>A split brain is resolved by discarding the side that holds no write acknowledged alone
 * when there is one: nothing acknowledged is lost then, and the checker keeps checking.
 */
final class Healing {
    private static final long HEAL_NANOS_MAX = 120_000 * MS;

    private final Simulation sim;

    Healing(Simulation sim) {
        this.sim = sim;
    }

    void heal() {
        sim.network.cutBefore(0, null, false);
        sim.network.cutBefore(1, null, false);
        sim.network.partition(false, false);
        if (sim.witnessNet != null) {
            sim.witnessNet.healAll();
            if (!sim.witness.up()) {
                sim.witness.restart();
            }
        }
        for (SimNode node : sim.nodes) {
            if (!node.up()) {
                node.boot();
            }
        }
        long deadline = sim.now() + HEAL_NANOS_MAX;
        while (!converged()) {
            if (sim.now() > deadline) {
                throw sim.failure("did not converge after healing: " + sim.nodes[0].status() + " | "
                        + sim.nodes[1].status(), null);
            }
            resolve();
            ensurePrimary();
            sim.runFor(20 * MS);
        }
        sim.stats.heals++;
        sim.invariants.checkHealed();
        if (!sim.model.valid()) {
            sim.model.rebase(sim.nodes[0].disk());
        }
        sim.invariants.uniqueWrites[0] = 0;
        sim.invariants.uniqueWrites[1] = 0;
    }

    private boolean converged() {
        for (SimNode node : sim.nodes) {
            if (!node.up()) {
                // A fence-peer handler may still shoot a node while the operator heals.
                node.boot();
                return false;
            }
        }
        for (SimNode node : sim.nodes) {
            CoreStatus status = node.status();
            if (status.connection() != ConnectionState.CONNECTED || status.replication() != ReplicationState.ESTABLISHED
                    || status.disk() != DiskState.UP_TO_DATE || status.peerDisk() != DiskState.UP_TO_DATE
                    || !node.idle()) {
                return false;
            }
        }
        return sim.outstanding.isEmpty();
    }

    /** If nobody is Primary, promote an UpToDate node (never forcing). */
    private void ensurePrimary() {
        if (sim.primary() != null) {
            return;
        }
        for (SimNode node : sim.nodes) {
            // Never the node whose changes are being discarded: it must become SyncTarget.
            if (node.up() && node.status().disk() == DiskState.UP_TO_DATE && node.status().role() == Role.SECONDARY
                    && !sim.invariants.discarding[node.index()]) {
                sim.promote(node, false, 500 * MS);
                return;
            }
        }
    }

    private void resolve() {
        SimNode[] nodes = sim.nodes;
        if (sim.bothConnectedEstablished() && nodes[0].idle() && nodes[1].idle()
                && (nodes[0].status().outOfSyncBytes() > 0 || nodes[1].status().outOfSyncBytes() > 0)
                && nodes[0].status().disk() == DiskState.UP_TO_DATE && nodes[1].status().disk() == DiskState.UP_TO_DATE) {
            // Ranges marked while connected (on-io-error pass-on) are resynced by the next
            // handshake: the operator connects again.
            SimNode secondary = nodes[0].status().role() == Role.PRIMARY ? nodes[1] : nodes[0];
            secondary.command(new Command.Disconnect());
            secondary.command(new Command.Connect(false));
        }
        for (SimNode node : nodes) {
            if (node.status().disk() == DiskState.FAILED) {
                sim.forgetOutstanding(node.index());
                node.restartProcess();
            } else if (node.detachedDiskReleased()) {
                node.attachHealedDisk();
            }
        }
        boolean noGoodData = true;
        for (SimNode node : nodes) {
            noGoodData &= node.status().disk() != DiskState.UP_TO_DATE;
        }
        for (SimNode node : nodes) {
            if (noGoodData && nodes[0].status().replication() == ReplicationState.ESTABLISHED && bothInconsistent()
                    && node.status().role() == Role.PRIMARY) {
                // A Primary that served through its peer lost the peer's disk too (a second disk
                // fault): no copy is current. The operator demotes it, then forces one below.
                sim.model.invalidate("the Primary served through a peer whose disk failed too");
                node.command(new Command.Secondary(true, false));
            }
        }
        if (noGoodData && nodes[0].status().replication() == ReplicationState.ESTABLISHED
                && nodes[0].status().role() == Role.SECONDARY && nodes[1].status().role() == Role.SECONDARY
                && bothInconsistent()) {
            // Both copies were thrown away (invalidate on both sides of a partition): the
            // operator picks one and forces it.
            sim.model.invalidate("both copies invalidated; alpha forced");
            nodes[0].command(new Command.Primary(true));
        }
        for (SimNode node : nodes) {
            ReplicationState replication = node.status().replication();
            if (replication == ReplicationState.PAUSED_SYNC_S || replication == ReplicationState.PAUSED_SYNC_T) {
                node.command(new Command.ResumeSync());
            }
        }
        boolean anyStandAlone = false;
        for (SimNode node : nodes) {
            anyStandAlone |= node.status().connection() == ConnectionState.STAND_ALONE;
        }
        boolean bothPrimaryApart = nodes[0].status().role() == Role.PRIMARY && nodes[1].status().role() == Role.PRIMARY;
        if (!anyStandAlone && !bothPrimaryApart) {
            return;
        }
        if (nodes[0].unrelatedSeen() || nodes[1].unrelatedSeen()) {
            // After a long split brain the histories may no longer meet: create-md on the victim.
            int victim = victim();
            sim.invariants.discarding[victim] = true;
            invalidateIfLosing(victim, "unrelated data resolved by create-md on " + nodes[victim].name());
            sim.forgetOutstanding(victim);
            nodes[victim].recreateMetadata();
            nodes[1 - victim].clearUnrelated();
            sim.splitBrainSeen[0] = false;
            sim.splitBrainSeen[1] = false;
        }
        if (sim.splitBrainSeen[0] || sim.splitBrainSeen[1] || bothPrimaryApart) {
            int victim = victim();
            if (noGoodData && bothInconsistent() && nodes[1 - victim].status().role() == Role.SECONDARY) {
                // No copy is whole (one was being resynced when the other's disk failed), and
                // their histories parted: discard-my-data needs a consistent copy to keep, so the
                // operator first forces the one to keep.
                sim.model.invalidate("split brain between two Inconsistent copies; "
                        + nodes[1 - victim].name() + " forced");
                nodes[1 - victim].command(new Command.Primary(true));
            }
            if (nodes[victim].status().role() == Role.PRIMARY) {
                nodes[victim].command(new Command.Secondary(true, false));
            }
            sim.invariants.discarding[victim] = true;
            invalidateIfLosing(victim, "split brain resolved by discarding " + nodes[victim].name() + "'s changes");
            if (nodes[victim].status().connection() == ConnectionState.STAND_ALONE) {
                nodes[victim].command(new Command.Connect(true));
            } else {
                nodes[victim].command(new Command.Disconnect());
                nodes[victim].command(new Command.Connect(true));
            }
            sim.splitBrainSeen[0] = false;
            sim.splitBrainSeen[1] = false;
        }
        for (SimNode node : nodes) {
            if (node.status().connection() == ConnectionState.STAND_ALONE) {
                node.command(new Command.Connect(false));
            }
        }
    }

    private boolean bothInconsistent() {
        return sim.nodes[0].status().disk() == DiskState.INCONSISTENT
                && sim.nodes[1].status().disk() == DiskState.INCONSISTENT;
    }

    /**
     * The node whose changes to discard: the one that acknowledged nothing alone, if only one
     * did; else a copy that is not consistent; else the one that is not Primary.
     */
    private int victim() {
        int[] unique = sim.invariants.uniqueWrites;
        if (unique[0] == 0 && unique[1] > 0) {
            return 0;
        }
        if (unique[1] == 0 && unique[0] > 0) {
            return 1;
        }
        SimNode[] nodes = sim.nodes;
        int victim = nodes[0].status().role() == Role.PRIMARY ? 1 : 0;
        DiskState mine = nodes[victim].status().disk();
        DiskState other = nodes[1 - victim].status().disk();
        boolean mineGood = mine == DiskState.UP_TO_DATE || mine == DiskState.CONSISTENT || mine == DiskState.OUTDATED;
        if (mineGood && (other == DiskState.INCONSISTENT || other == DiskState.FAILED)) {
            victim = 1 - victim;
        }
        return victim;
    }

    private void invalidateIfLosing(int victim, String why) {
        // Under A and B a write counted as mirrored may never have arrived: only protocol C
        // knows exactly which writes a node holds alone.
        if (sim.invariants.uniqueWrites[victim] > 0 || sim.protocol != io.repl.core.replication.ReplicationProtocol.C) {
            sim.model.invalidate(why);
        }
    }
}
