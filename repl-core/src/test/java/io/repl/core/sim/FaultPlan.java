package io.repl.core.sim;

import static io.repl.core.sim.Simulation.MS;

import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.core.witness.WitnessRecord;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import java.util.SplittableRandom;

/**
 * The random steps of a run: writes and flushes, faults (partitions of any pair, one-way ones
 * included, cuts, kills and power losses of either node, crashes of the witness), and what an
 * operator does (promotions at random moments, never forced; switchovers; orderly stops;
 * disconnects; invalidate; resume-io when the peer is known down). Also the fence-peer handler
 * of the resource-and-stonith policy, which acts on the world as a real one would.
 *
 * <p>Two availability checks run here, where the conditions are known: with a witness, the
 * Secondary of a crashed Primary must be promotable without --force, and the Primary of a
 * crashed Secondary must go on writing.
 */
final class FaultPlan {
    private static final long AVAILABILITY_WAIT_NANOS = 1500 * MS;

    private final Simulation sim;
    private final SplittableRandom random;
    /** Whether a link broken at a resync's end stays down: drawn apart from {@link #random}. */
    private final SplittableRandom resyncEndRandom;

    FaultPlan(Simulation sim) {
        this.sim = sim;
        this.random = sim.random;
        this.resyncEndRandom = new SplittableRandom(sim.seed ^ 0x7265737966656e64L);
    }

    void randomStep() {
        int dice = random.nextInt(1000);
        if (dice < 560) {
            write();
        } else if (dice < 610) {
            flush();
        } else if (dice < 625) {
            sim.network.cut();
            sim.exercised.add(Fault.PEER_CUT);
        } else if (dice < 635) {
            toggleOperatorConnection();
        } else if (dice < 650) {
            togglePeerPartition();
        } else if (dice < 662) {
            togglePeerOneWay();
        } else if (dice < 676) {
            toggleWitnessPartition();
        } else if (dice < 682) {
            crashWitness();
        } else if (dice < 696) {
            primaryFails();
        } else if (dice < 706) {
            secondaryFails();
        } else if (dice < 720) {
            switchover();
        } else if (dice < 727) {
            orderlyDown();
        } else if (dice < 745) {
            promoteAtRandom();
        } else if (dice < 752) {
            togglePause();
        } else if (dice < 757) {
            invalidateSecondary();
        } else if (dice < 780) {
            ensurePrimary();
        } else if (dice < 786) {
            resumeIoWithPeerDown();
        } else if (dice < 790) {
            diskDeviceFails();
        } else if (dice < 797) {
            dataDiskFails();
        } else if (dice < 800) {
            operatorDetach();
        } else if (dice < 808) {
            resize();
        } else if (dice < 820) {
            breakLinkAtResyncEnd();
        } else if (dice < 835) {
            verify();
        } else if (dice < 840) {
            adjust();
        }
        long wait = random.nextInt(20) == 0 ? random.nextLong(300 * MS) : random.nextLong(3 * MS);
        sim.runFor(wait);
    }

    /**
     * During a resync, the link breaks just before the source would get the target's
     * STATE(UpToDate): the target finished and took the source's generation, the source never
     * saw it. Half the time the link then stays down for a while (a partition).
     */
    private void breakLinkAtResyncEnd() {
        // A draw of its own, so a seed whose cut never fires runs as it did before this fault existed.
        for (SimNode node : sim.nodes) {
            if (node.up() && node.status().replication().isTarget()) {
                sim.network.cutBefore(node.index(), m -> m instanceof io.repl.protocol.PeerState s
                        && s.disk() == io.repl.protocol.DiskState.UP_TO_DATE, resyncEndRandom.nextBoolean());
                return;
            }
        }
    }

    // ---------------------------------------------------------------- the workload

    private void write() {
        SimNode node = sim.primary();
        if (node != null && sim.outstanding.size() < Simulation.OUTSTANDING_MAX) {
            sim.issueRandomWrite(node);
        }
    }

    private void flush() {
        SimNode node = sim.primary();
        if (node != null && sim.outstanding.size() < Simulation.OUTSTANDING_MAX) {
            sim.issueRandomFlush(node);
        }
    }

    // ---------------------------------------------------------------- networks

    private void toggleOperatorConnection() {
        SimNode node = sim.nodes[random.nextInt(2)];
        if (!node.up()) {
            return;
        }
        if (node.status().connection() == ConnectionState.STAND_ALONE) {
            if (!sim.splitBrainSeen[node.index()]) {
                node.command(new Command.Connect(false));
            }
        } else {
            node.command(new Command.Disconnect());
        }
    }

    private void togglePeerPartition() {
        boolean on = !sim.network.partitioned();
        sim.network.partition(on, random.nextBoolean());
        if (on) {
            sim.exercised.add(Fault.PEER_PARTITION);
        }
    }

    private void togglePeerOneWay() {
        if (sim.network.partitioned()) {
            sim.network.partition(false, false);
            return;
        }
        sim.network.partitionOneWay(random.nextInt(2), true);
        sim.exercised.add(Fault.PEER_ONE_WAY_PARTITION);
    }

    private void toggleWitnessPartition() {
        if (sim.witnessNet == null) {
            return;
        }
        int node = random.nextInt(2);
        if (sim.witnessNet.blocked(node)) {
            sim.witnessNet.partition(node, false, false);
            return;
        }
        int kind = random.nextInt(3);
        sim.witnessNet.partition(node, kind != 1, kind != 2);
        sim.exercised.add(kind == 0 ? Fault.WITNESS_PARTITION : Fault.WITNESS_ONE_WAY_PARTITION);
    }

    private void crashWitness() {
        SimWitness witness = sim.witness;
        if (witness == null || !witness.up()) {
            return;
        }
        witness.crash();
        sim.witnessNet.witnessCrashed();
        sim.exercised.add(Fault.WITNESS_CRASH);
        sim.events.after(100 * MS + random.nextLong(700 * MS), witness::restart);
    }

    // ---------------------------------------------------------------- node failures

    private void restartLater(SimNode node) {
        long delay = 300 * MS + random.nextLong(400 * MS);
        sim.events.after(delay, () -> {
            if (!node.up()) {
                node.boot();
            }
        });
    }

    /**
     * The metadata device or the data disk's flushes of either node start failing. Once the
     * node notices (its disk goes Failed), the operator repairs the device a little later:
     * down, repair, up, which the simulator does as a restart of the process. Only while the
     * other node's copy is whole, as for the data disk's faults: on the last current copy it
     * would be a double fault.
     */
    private void diskDeviceFails() {
        SimNode node = sim.nodes[random.nextInt(2)];
        if (!node.up() || node.status().disk() == DiskState.FAILED || !otherCopyHealthy(node)) {
            return;
        }
        boolean metadata = random.nextBoolean();
        if (metadata) {
            node.failMetadata();
        } else {
            node.failFlushes();
        }
        Fault fault = metadata ? Fault.METADATA_FAILURE : Fault.FLUSH_FAILURE;
        long check = 20 * MS + random.nextLong(200 * MS);
        sim.events.after(check, () -> {
            if (node.up() && node.status().disk() == DiskState.FAILED) {
                sim.exercised.add(fault);
            }
        });
        sim.events.after(check + 100 * MS + random.nextLong(500 * MS), () -> {
            if (node.up() && node.status().disk() == DiskState.FAILED) {
                if (sim.outstanding.values().stream().anyMatch(p -> p.node() == node.index())) {
                    throw sim.failure(node.name() + ": a request is still unanswered on a Failed disk", null);
                }
                node.restartProcess();
            }
        });
    }

    /**
     * The data disk of either node starts failing writes. Under on-io-error = detach the node
     * goes Diskless (a Primary only once its peer holds every write it acknowledged, else the
     * error is passed on); a little later the operator heals the disk and attaches it.
     */
    private void dataDiskFails() {
        SimNode node = sim.nodes[random.nextInt(2)];
        if (!node.up() || node.status().disk() == DiskState.FAILED || node.status().disk() == DiskState.DISKLESS
                || !otherCopyHealthy(node)) {
            return;
        }
        boolean primary = node.status().role() == Role.PRIMARY;
        node.failWrites(true);
        long check = 20 * MS + random.nextLong(200 * MS);
        sim.events.after(check, () -> {
            if (node.up() && node.status().disk() == DiskState.DISKLESS) {
                sim.exercised.add(primary ? Fault.DETACHED_PRIMARY : Fault.DETACHED_SECONDARY);
            }
        });
        sim.events.after(check + 50 * MS + random.nextLong(400 * MS), () -> attachLater(node));
    }

    /**
     * Whether the other node's copy is whole: up, with its disk and no failing writes. A disk
     * fault on both nodes at once is a double fault, which no single surviving copy covers.
     */
    private boolean otherCopyHealthy(SimNode node) {
        SimNode other = sim.nodes[1 - node.index()];
        // A metadata device that fails before its node notices (no metadata write yet) is a
        // fault of that copy too: it could not record which copy is current.
        return other.up() && !other.writesFailing() && !other.metadataFailing()
                && other.status().disk() != DiskState.DISKLESS
                && other.status().disk() != DiskState.FAILED && !other.hasRandomWriteErrors();
    }

    /** {@code detach} by the operator on either node, attached again a little later. */
    private void operatorDetach() {
        SimNode node = sim.nodes[random.nextInt(2)];
        if (!node.up() || node.status().disk() == DiskState.FAILED || node.status().disk() == DiskState.DISKLESS
                || !otherCopyHealthy(node)) {
            return;
        }
        CommandResult result = node.command(new Command.Detach());
        if (result.done()) {
            sim.exercised.add(Fault.OPERATOR_DETACH);
            sim.events.after(20 * MS + random.nextLong(300 * MS), () -> attachLater(node));
        }
    }

    /**
     * {@code verify} on either node, usually from the start, sometimes from a random block; it may
     * be refused (not in sync), run to its end while the workload writes, or be stopped by a later
     * fault. A difference it reports fails the seed ({@link Simulation#verifyReported}).
     */
    private void verify() {
        SimNode node = sim.nodes[random.nextInt(2)];
        if (!node.up()) {
            return;
        }
        long blocks = node.dataBytes() / BlockPattern.BLOCK_BYTES;
        long start = random.nextInt(4) == 0 ? random.nextLong(blocks) * BlockPattern.BLOCK_BYTES : 0;
        node.command(new Command.Verify(start));
    }

    /** The operator heals the disk and, if the node detached it, attaches it; then checks it resynced. */
    private void attachLater(SimNode node) {
        if (!node.up()) {
            return;
        }
        if (!node.detachedDiskReleased()) {
            node.failWrites(false);
            return;
        }
        boolean primary = node.status().role() == Role.PRIMARY;
        if (node.attachHealedDisk().done()) {
            sim.events.after(300 * MS, () -> {
                if (node.up() && node.status().disk() == DiskState.UP_TO_DATE
                        && node.status().role() == (primary ? Role.PRIMARY : Role.SECONDARY)) {
                    sim.exercised.add(primary ? Fault.ATTACHED_AS_PRIMARY : Fault.ATTACHED_AS_SECONDARY);
                }
            });
        }
    }

    /** kill -9 (seven in ten) or power loss of {@code node}; it restarts a little later. */
    private boolean takeDown(SimNode node, Fault kill, Fault powerLoss) {
        boolean power = random.nextInt(10) < 3;
        boolean resetSeen = random.nextBoolean();
        if (power) {
            sim.crash(node.index(), resetSeen);
            sim.exercised.add(powerLoss);
        } else {
            sim.kill(node.index(), resetSeen);
            sim.exercised.add(kill);
        }
        sim.stats.crashes++;
        restartLater(node);
        return power;
    }

    /** The Primary dies; an operator promotes the survivor without --force, if it is allowed. */
    private void primaryFails() {
        SimNode victim = sim.primary();
        if (victim == null || !sim.other(victim).up()) {
            return;
        }
        SimNode survivor = sim.other(victim);
        boolean mustHold = sim.invariants.survivorMustHoldAcknowledged(victim, survivor);
        if (mustHold && sim.protocol == ReplicationProtocol.C) {
            sim.invariants.checkSurvivorHoldsAcknowledgedWrites(victim.name(), survivor);
        }
        // In sync in both views: a Primary that pulled ahead (on-congestion pull-ahead) has its
        // peer Behind, or about to be, and a Behind node is not current.
        boolean witnessWillGrant = witnessWouldGrant(survivor) && inSyncWith(survivor) && inSyncWith(victim);
        int survivorLife = survivor.incarnation();
        int survivorEpoch = survivor.metadataEpoch();
        takeDown(victim, Fault.PRIMARY_KILL, Fault.PRIMARY_POWER_LOSS);
        // The survivor notices by a reset or its ping timeout; only then can it be promoted.
        sim.runFor(5 * MS);
        for (int wait = 0; wait < 60 && survivor.status().connection() == ConnectionState.CONNECTED; wait++) {
            sim.runFor(5 * MS);
        }
        // What the survivor received it writes even after the loss (protocol B acknowledged it).
        for (int wait = 0; wait < 50 && !survivor.idle(); wait++) {
            sim.runFor(5 * MS);
        }
        if (mustHold && sim.protocol == ReplicationProtocol.B) {
            // A survivor whose disk failed (or detached) writing what it received is a second
            // fault of its own: it could not apply it, which is no rule broken.
            DiskState disk = survivor.status().disk();
            if (survivor.idle() && disk != DiskState.INCONSISTENT && disk != DiskState.FAILED
                    && disk != DiskState.DISKLESS) {
                sim.invariants.checkSurvivorHoldsAcknowledgedWrites(victim.name(), survivor);
            } else {
                sim.model.invalidate("protocol B survivor could not apply what it received");
            }
        }
        if (!mustHold && sim.protocol != ReplicationProtocol.C) {
            sim.model.invalidate("protocol " + sim.protocol + " Primary died: acknowledged writes may be lost");
        }
        CommandResult result = failover(survivor);
        boolean promoted = result != null && result.done();
        if (promoted) {
            sim.stats.failovers++;
        }
        // A survivor whose own disk failed meanwhile (a fault of its own) has nothing to serve,
        // whether the failure left it Failed or, under on-io-error detach, Diskless, or the
        // operator has since attached a disk that never held the data (Inconsistent until a
        // resync from the dead Primary).
        DiskState survivorDisk = survivor.up() ? survivor.status().disk() : DiskState.FAILED;
        boolean diskAlive = survivor.up() && survivorDisk != DiskState.FAILED && survivorDisk != DiskState.DISKLESS
                && survivor.incarnation() == survivorLife && survivor.metadataEpoch() == survivorEpoch;
        if (witnessWillGrant && diskAlive && sim.witness.up() && !sim.witnessNet.blocked(survivor.index())) {
            if (!promoted) {
                throw sim.failure("availability: with the witness reachable and holding " + survivor.name()
                        + "'s generation, " + survivor.name() + " was not promoted after its Primary died: "
                        + (result == null ? "no answer" : result.exitCode() + " " + result.reason()), null);
            }
            sim.exercised.add(Fault.FAILOVER_THROUGH_WITNESS);
        }
    }

    /** {@code primary} on the survivor, retried while writes from the dead Primary still land. */
    private CommandResult failover(SimNode survivor) {
        CommandResult result = null;
        for (int attempt = 0; attempt < 20 && survivor.up(); attempt++) {
            result = sim.promote(survivor, false, AVAILABILITY_WAIT_NANOS);
            if (result == null || result.exitCode() != CommandResult.REFUSED) {
                return result;
            }
            sim.runFor(10 * MS);
        }
        return result;
    }

    /** A Secondary dies; with a witness the Primary must go on writing after a bounded pause. */
    private void secondaryFails() {
        SimNode primary = sim.primary();
        if (primary == null || !sim.other(primary).up()) {
            return;
        }
        SimNode victim = sim.other(primary);
        if (victim.status().role() != Role.SECONDARY) {
            return;
        }
        boolean witnessWillGrant = witnessWouldGrant(primary) && inSyncWith(primary);
        takeDown(victim, Fault.SECONDARY_KILL, Fault.SECONDARY_POWER_LOSS);
        if (!witnessWillGrant) {
            return;
        }
        int incarnation = primary.incarnation();
        int epoch = primary.metadataEpoch();
        long deadline = sim.now() + AVAILABILITY_WAIT_NANOS;
        while (sim.now() < deadline && primary.up() && !writesFlow(primary)) {
            sim.runFor(5 * MS);
        }
        // Another fault meanwhile (its disk failed, or was replaced, it was restarted) is not
        // this check's business.
        if (!sim.witness.up() || sim.witnessNet.blocked(primary.index()) || !primary.up()
                || primary.incarnation() != incarnation || primary.metadataEpoch() != epoch
                || primary.status().disk() == DiskState.FAILED) {
            return;
        }
        if (!writesFlow(primary)) {
            throw sim.failure("availability: with the witness reachable and holding its generation, the Primary "
                    + primary.name() + " still holds writes " + AVAILABILITY_WAIT_NANOS / MS
                    + " ms after its Secondary died: " + primary.status(), null);
        }
        sim.exercised.add(Fault.PRIMARY_WENT_ON_ALONE);
    }

    /**
     * Whether {@code primary} takes writes again: alone, or with its Secondary if that came back
     * meanwhile (a restarted Secondary may reconnect before the wait is over).
     */
    private static boolean writesFlow(SimNode primary) {
        CoreStatus status = primary.status();
        return status.role() == Role.PRIMARY && status.failover().heldReason() == null
                && (status.connection() != ConnectionState.CONNECTED || status.replication().isEstablished());
    }

    /** The witness is up, reachable from {@code node}, and names it a holder of its generation. */
    private boolean witnessWouldGrant(SimNode node) {
        if (sim.witness == null || !sim.witness.up() || !node.up() || sim.witnessNet.blocked(node.index())
                || !sim.witnessNet.connected(node.index())) {
            return false;
        }
        WitnessRecord record = sim.witness.record();
        long current = node.metadata().superblock().uuids().current();
        return record.holds(node.index()) && record.generation() == current;
    }

    private boolean inSyncWith(SimNode node) {
        CoreStatus status = node.status();
        return status.connection() == ConnectionState.CONNECTED && status.replication().isEstablished()
                && status.disk() == DiskState.UP_TO_DATE && status.peerDisk() == DiskState.UP_TO_DATE;
    }

    // ---------------------------------------------------------------- operator actions

    /** An operator promotes a Secondary at a random moment, never with --force. */
    private void promoteAtRandom() {
        SimNode node = sim.nodes[random.nextInt(2)];
        if (!node.up() || node.status().role() != Role.SECONDARY) {
            return;
        }
        CommandResult result = sim.promote(node, false, AVAILABILITY_WAIT_NANOS);
        sim.exercised.add(result != null && result.done() ? Fault.PROMOTE_ACCEPTED : Fault.PROMOTE_REFUSED);
    }

    /** A planned role switch: demote the Primary (its goodbye), promote the peer. */
    private void switchover() {
        SimNode from = sim.primary();
        if (from == null) {
            return;
        }
        SimNode to = sim.other(from);
        boolean writers = sim.outstanding.values().stream().anyMatch(p -> p.node() == from.index());
        boolean force = random.nextInt(4) == 0;
        CommandResult demoted = from.command(new Command.Secondary(force, writers));
        if (writers && !force && demoted.exitCode() != CommandResult.REFUSED) {
            throw sim.failure("secondary was not refused while writers were open: " + demoted, null);
        }
        if (!demoted.done() || !to.up()) {
            return;
        }
        sim.exercised.add(Fault.SWITCHOVER);
        // An operator waits for the peer to see the demotion; STATE follows every DATA sent before it.
        for (int wait = 0; wait < 10 && to.up() && sim.network.inFlightTo(to.index()) > 0; wait++) {
            sim.runFor(5 * MS);
        }
        if (to.up()) {
            sim.promote(to, false, AVAILABILITY_WAIT_NANOS);
        }
    }

    /** {@code down} (or SIGTERM) of the Primary's agent: goodbye, then the process ends; it restarts later. */
    private void orderlyDown() {
        SimNode node = sim.primary();
        if (node == null) {
            return;
        }
        // The driver stops the front end and lets writes drain before the goodbye.
        for (int wait = 0; wait < 40 && !node.idle(); wait++) {
            sim.runFor(5 * MS);
        }
        if (!node.up()) {
            // Shot meanwhile (its peer's fence-peer handler exited 7): nothing left to bring down.
            return;
        }
        sim.expectDone(node.command(new Command.Down()));
        sim.exercised.add(Fault.ORDERLY_DOWN);
        sim.runFor(5 * MS);
        sim.kill(node.index(), true);
        restartLater(node);
        SimNode other = sim.other(node);
        if (other.up()) {
            sim.runFor(20 * MS);
            sim.promote(other, false, AVAILABILITY_WAIT_NANOS);
        }
    }

    /**
     * resume-io on a Primary that holds writes, by an operator who knows the peer is down (it
     * is: the simulator only does it then). The peer comes back Consistent (restarted alone),
     * and a witness has been told.
     */
    private void resumeIoWithPeerDown() {
        SimNode node = sim.primary();
        if (node == null || sim.other(node).up() || node.status().failover().heldReason() == null) {
            return;
        }
        CommandResult result = sim.commandAndWait(node, new Command.ResumeIo(false), AVAILABILITY_WAIT_NANOS);
        if (result != null && result.done()) {
            sim.exercised.add(Fault.RESUME_IO);
        }
    }

    private void togglePause() {
        SimNode node = sim.nodes[random.nextInt(2)];
        if (node.up()) {
            node.command(random.nextBoolean() ? new Command.PauseSync() : new Command.ResumeSync());
        }
    }

    private void invalidateSecondary() {
        for (SimNode node : sim.nodes) {
            SimNode other = sim.other(node);
            boolean otherGood = other.up() && other.status().disk() == DiskState.UP_TO_DATE;
            if (otherGood && node.up() && node.status().role() == Role.SECONDARY
                    && node.status().replication().isEstablished()) {
                // The same from either end: invalidate here, or invalidate-remote on the peer
                // (chosen without drawing, so that the seeds' random streams stay as they were).
                boolean remote = sim.step() % 2 == 0;
                CommandResult result = remote ? other.command(new Command.InvalidateRemote())
                        : node.command(new Command.Invalidate());
                if (result.done()) {
                    sim.invariants.discarding[node.index()] = true;
                    if (remote) {
                        sim.exercised.add(Fault.INVALIDATE_REMOTE);
                    }
                }
                return;
            }
        }
    }

    /**
     * {@code resize} on either node of an Established pair: to the whole disk or to a size in
     * between, the new area synced or (half the time) declared clean, which holds here: past the
     * old end both disks hold zeroes, nothing having written there.
     */
    private void resize() {
        if (!sim.resizable) {
            return;
        }
        SimNode node = sim.nodes[random.nextInt(2)];
        SimNode other = sim.other(node);
        if (!node.up() || !other.up()
                || node.status().replication() != ReplicationState.ESTABLISHED
                || node.dataBytes() >= node.diskCapacityBytes()) {
            return;
        }
        long blocksMore = (node.diskCapacityBytes() - node.dataBytes()) / BlockPattern.BLOCK_BYTES;
        long size = random.nextBoolean() ? 0
                : node.dataBytes() + (1 + random.nextLong(blocksMore)) * BlockPattern.BLOCK_BYTES;
        boolean clean = random.nextBoolean();
        CommandResult result = sim.commandAndWait(node, new Command.Resize(size, false, clean), 500 * MS);
        if (result != null && result.done()) {
            sim.exercised.add(Fault.RESIZED);
        }
    }

    /**
     * {@code adjust} on a running node: checksum resync on or off, another rate ceiling and
     * fill target, the other verify digest; what runs keeps its settings, the next resync or
     * verify takes the new ones (a running verify keeps its digest). Chosen without drawing, so the seeds' random streams stay as
     * they were. The node's next boot reads the same settings, as an agent reads the changed file.
     */
    private void adjust() {
        long step = sim.step();
        SimNode node = sim.nodes[(int) (step % 2)];
        // Not while it receives a resync: that one keeps its rates, and the pacing invariant
        // holds a SyncTarget to the rates of the configuration it has.
        if (!node.up() || node.status().replication().isTarget()) {
            return;
        }
        io.repl.core.replication.SyncPolicy now = node.config().sync();
        io.repl.core.replication.RateControl rate = (step / 2) % 2 == 0
                ? io.repl.core.replication.RateControl.defaults()
                : new io.repl.core.replication.RateControl(1L << 20, 8L << 20 << (step % 3), 100 * MS,
                        (64L << 10) << (step % 4), 0);
        io.repl.core.replication.SyncPolicy next = now.withCsums(!now.csums()).withRate(rate)
                .withVerifyAlgorithm(now.verifyAlgorithm() == io.repl.protocol.DigestAlgorithm.CRC32C
                        ? io.repl.protocol.DigestAlgorithm.SHA_256 : io.repl.protocol.DigestAlgorithm.CRC32C);
        if (node.command(new Command.Adjust(next)).done()) {
            node.reconfigure(node.config().withSync(next));
            sim.exercised.add(Fault.ADJUSTED);
        }
    }

    /** If nobody is Primary, promote a node (never forcing): UpToDate ones first. */
    void ensurePrimary() {
        if (sim.primary() != null) {
            return;
        }
        for (DiskState wanted : new DiskState[] {DiskState.UP_TO_DATE, DiskState.CONSISTENT}) {
            for (SimNode node : sim.nodes) {
                if (node.up() && node.status().disk() == wanted && node.status().role() == Role.SECONDARY) {
                    CommandResult result = sim.promote(node, false, AVAILABILITY_WAIT_NANOS);
                    if (result != null && result.done()) {
                        return;
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- the fence-peer handler

    /**
     * The fence-peer handler of resource-and-stonith, as a real one would act through another
     * network: a peer that is down is reported shot (7) or unreachable (5); a live peer is
     * sometimes shot (power off, then 7), sometimes unreachable (5), refuses if Primary (6),
     * and is otherwise told to outdate itself (4 if it did).
     */
    void fencePeer(SimNode node, long run) {
        SimNode peer = sim.other(node);
        int life = node.incarnation();
        sim.events.after(5 * MS + random.nextLong(55 * MS), () -> {
            if (!node.up() || node.incarnation() != life) {
                return;
            }
            int exit;
            if (!peer.up()) {
                exit = random.nextBoolean() ? 7 : 5;
            } else if (random.nextInt(6) == 0) {
                sim.crash(peer.index(), true);
                restartLater(peer);
                exit = 7;
            } else if (random.nextInt(5) == 0) {
                exit = 5;
            } else if (peer.status().role() == Role.PRIMARY) {
                exit = 6;
            } else {
                exit = peer.command(new Command.Outdate()).done() ? 4 : 5;
            }
            sim.exercised.add(exit == 4 ? Fault.FENCE_PEER_OUTDATED : exit == 5 ? Fault.FENCE_PEER_UNREACHABLE
                    : exit == 6 ? Fault.FENCE_PEER_PRIMARY : Fault.FENCE_PEER_STONITH);
            node.fenceResult(life, run, exit);
        });
    }
}
