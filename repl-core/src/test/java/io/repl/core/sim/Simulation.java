package io.repl.core.sim;

import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreConfig;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.Errno;
import io.repl.core.replication.FrontRequest;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * One seeded run: two nodes, a network, a random workload, and the invariants checked after
 * every step. Everything derives from the seed, so a failing seed replays bit for bit.
 */
final class Simulation implements SimNode.Observer {
    static final long MS = 1_000_000L;
    private static final long HEAL_NANOS_MAX = 120_000 * MS;
    private static final int OUTSTANDING_MAX = 12;

    /** A front-end request the workload has issued and not seen completed. */
    private record Pending(int node, FrontRequest.Kind kind, int firstBlock, long[] versions, long[] values) {
    }


    final long seed;
    private final SplittableRandom random;
    private final EventQueue events = new EventQueue();
    private final SimNetwork network;
    private final SimNode[] nodes = new SimNode[2];
    private final ReplicationProtocol protocol;
    private final int blocks;
    private final int steps;
    private final DataModel model;
    private final Invariants invariants;
    private final TreeMap<Long, Pending> outstanding = new TreeMap<>();
    /** Completed requests and their errno, for scripted tests. */
    private final TreeMap<Long, Integer> completions = new TreeMap<>();
    private final boolean[] splitBrainSeen = new boolean[2];
    private long nextRequestId = 1;
    private long nextVersion = 1;
    private int step;
    private final Stats stats = new Stats();

    /** What a run did, for the test's report. */
    static final class Stats {
        long writesAcked;
        long crashes;
        long failovers;
        long splitBrains;
        long resyncsFinished;
        long heals;
        long events;
    }

    /**
     * A scripted world: fixed protocol and sizes, no random workload.
     *
     * @param dataBytesPeer the second node's size (equal to {@code dataBytes} unless a test
     *     wants mismatched devices)
     */
    record Options(ReplicationProtocol protocol, long dataBytes, long dataBytesPeer, double writeErrorRate) {
        static Options of(ReplicationProtocol protocol) {
            return new Options(protocol, 1L << 20, 1L << 20, 0);
        }
    }

    Simulation(long seed) {
        this(seed, null);
    }

    Simulation(long seed, Options scripted) {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
        int sizeChoice = random.nextInt(3);
        int protocolChoice = random.nextInt(10);
        double randomErrorRate = random.nextInt(5) == 0 ? 0.002 : 0.0;
        ReplicationProtocol randomProtocol = protocolChoice < 7 ? ReplicationProtocol.C
                : protocolChoice < 9 ? ReplicationProtocol.B : ReplicationProtocol.A;
        long randomBytes = (1L << 20) << sizeChoice;
        Options options = scripted != null ? scripted
                : new Options(randomProtocol, randomBytes, randomBytes, randomErrorRate);
        this.protocol = options.protocol();
        this.blocks = (int) (options.dataBytes() / BlockPattern.BLOCK_BYTES);
        this.steps = 150 + random.nextInt(250);
        this.model = new DataModel(blocks);
        this.invariants = new Invariants(this, nodes, model, protocol, blocks);
        this.network = new SimNetwork(events, random.split(), 1 + random.nextLong(2 * MS));
        CoreConfig config = simConfig(protocol, random.nextInt(4) + 2);
        for (int i = 0; i < 2; i++) {
            nodes[i] = new SimNode(i, i == 0 ? "alpha" : "beta", events, network, random.split(), config,
                    i == 0 ? options.dataBytes() : options.dataBytesPeer(), options.writeErrorRate(), this);
        }
        network.attach(nodes[0], nodes[1]);
    }

    static CoreConfig simConfig(ReplicationProtocol protocol, int resyncWindow) {
        return new CoreConfig("r0", protocol, 64 * 1024, 32, 64, 8, resyncWindow, 16,
                10 * MS, 50 * MS, 200 * MS, 1000 * MS, true);
    }

    SimNode node(int index) {
        return nodes[index];
    }

    Stats stats() {
        return stats;
    }

    ReplicationProtocol protocol() {
        return protocol;
    }

    long now() {
        return events.now();
    }

    /** The whole run: set up, random steps, heal, final checks. */
    void run() {
        try {
            setUp();
            for (step = 1; step <= steps; step++) {
                randomStep();
                invariants.checkEveryStep(outstanding.isEmpty());
            }
            step = steps + 1;
            heal();
        } catch (SimulationFailure failure) {
            throw failure;
        } catch (RuntimeException | Error e) {
            throw failure("unexpected " + e, e);
        }
        stats.events = events.executed();
    }

    void setUp() {
        nodes[0].boot();
        nodes[1].boot();
        runFor(5 * MS);
        waitFor(() -> bothConnectedEstablished(), 2000 * MS, "initial connect");
        if (random.nextInt(3) == 0) {
            // Two fresh zeroed disks are identical: skip the initial sync (documented use).
            expectDone(nodes[0].command(new Command.NewCurrentUuidClearBitmap()));
            waitFor(() -> nodes[1].status().disk() == DiskState.UP_TO_DATE, 1000 * MS, "clear-bitmap on the peer");
            expectDone(nodes[random.nextInt(2)].command(new Command.Primary(false)));
        } else {
            expectDone(nodes[0].command(new Command.Primary(true)));
        }
        runFor(2 * MS);
    }

    // ---------------------------------------------------------------- the workload

    private void randomStep() {
        int dice = random.nextInt(1000);
        if (dice < 620) {
            issueWrite();
        } else if (dice < 680) {
            issueFlush();
        } else if (dice < 700) {
            network.cut();
        } else if (dice < 712) {
            toggleOperatorConnection();
        } else if (dice < 722) {
            togglePartition();
        } else if (dice < 730) {
            crashAndFailover();
        } else if (dice < 745) {
            switchover();
        } else if (dice < 750) {
            promoteWhilePartitioned();
        } else if (dice < 760) {
            togglePause();
        } else if (dice < 765) {
            invalidateSecondary();
        } else if (dice < 790) {
            ensurePrimary();
        }
        long wait = random.nextInt(20) == 0 ? random.nextLong(300 * MS) : random.nextLong(3 * MS);
        runFor(wait);
    }

    private SimNode primary() {
        SimNode chosen = null;
        for (SimNode node : nodes) {
            if (node.up() && node.status().role() == Role.PRIMARY && (chosen == null || random.nextBoolean())) {
                chosen = node;
            }
        }
        return chosen;
    }

    private void issueWrite() {
        SimNode node = primary();
        if (node == null || outstanding.size() >= OUTSTANDING_MAX) {
            return;
        }
        int length = random.nextInt(8) == 0 ? 1 + random.nextInt(16) : 1 + random.nextInt(3);
        int first = random.nextInt(blocks - length + 1);
        boolean zeroes = random.nextInt(30) == 0;
        boolean fua = random.nextInt(10) == 0;
        long[] versions = new long[length];
        long[] values = new long[length];
        for (int i = 0; i < length; i++) {
            versions[i] = nextVersion++;
            values[i] = zeroes ? 0 : versions[i];
            model.issued(first + i, versions[i], values[i]);
        }
        long id = nextRequestId++;
        long offset = (long) first * BlockPattern.BLOCK_BYTES;
        node.note("issue " + id + (zeroes ? " zeroes " : " write ") + first + "+" + length + " v" + versions[0]);
        FrontRequest request = zeroes
                ? FrontRequest.zeroes(id, offset, length * BlockPattern.BLOCK_BYTES, fua)
                : FrontRequest.write(id, offset, BlockPattern.blocks(first, versions), fua);
        outstanding.put(id, new Pending(node.index(), request.kind(), first, versions, values));
        node.request(request);
    }

    private void issueFlush() {
        SimNode node = primary();
        if (node == null || outstanding.size() >= OUTSTANDING_MAX) {
            return;
        }
        long id = nextRequestId++;
        outstanding.put(id, new Pending(node.index(), FrontRequest.Kind.FLUSH, 0, new long[0], new long[0]));
        invariants.promiseDurability(id, node);
        node.request(FrontRequest.flush(id));
    }

    private void toggleOperatorConnection() {
        SimNode node = nodes[random.nextInt(2)];
        if (!node.up()) {
            return;
        }
        if (node.status().connection() == ConnectionState.STAND_ALONE) {
            if (!splitBrainSeen[node.index()]) {
                node.command(new Command.Connect(false));
            }
        } else {
            node.command(new Command.Disconnect());
        }
    }

    private void togglePartition() {
        network.partition(!network.partitioned(), random.nextBoolean());
    }

    /** The Primary loses power; the Secondary is promoted if it holds UpToDate data. */
    private void crashAndFailover() {
        SimNode victim = primary();
        if (victim == null || !nodes[1 - victim.index()].up()) {
            return;
        }
        SimNode survivor = nodes[1 - victim.index()];
        boolean mustHold = invariants.survivorMustHoldAcknowledged(victim, survivor);
        if (mustHold && protocol == ReplicationProtocol.C) {
            invariants.checkSurvivorHoldsAcknowledgedWrites(victim.name(), survivor);
        }
        forgetOutstanding(victim.index());
        victim.crash(random.nextBoolean());
        stats.crashes++;
        if (!mustHold && protocol != ReplicationProtocol.C) {
            model.invalidate("protocol " + protocol + " Primary crashed: acknowledged writes may be lost");
        }
        long restartDelay = 300 * MS + random.nextLong(400 * MS);
        events.after(restartDelay, () -> {
            if (!victim.up()) {
                victim.boot();
            }
        });
        // The survivor notices by a reset or its ping timeout; only then can it be promoted.
        runFor(5 * MS);
        for (int wait = 0; wait < 50 && survivor.status().connection() == ConnectionState.CONNECTED; wait++) {
            runFor(5 * MS);
        }
        // What the survivor received it writes even after the loss (protocol B acknowledged it);
        // it can be promoted once that is done.
        for (int wait = 0; wait < 50 && !survivor.idle(); wait++) {
            runFor(5 * MS);
        }
        if (mustHold && protocol == ReplicationProtocol.B) {
            if (survivor.idle() && survivor.status().disk() == DiskState.UP_TO_DATE) {
                invariants.checkSurvivorHoldsAcknowledgedWrites(victim.name(), survivor);
            } else {
                model.invalidate("protocol B survivor could not apply what it received");
            }
        }
        CoreStatus status = survivor.status();
        boolean promotable = status.disk() == DiskState.UP_TO_DATE && status.role() == Role.SECONDARY
                && status.connection() != ConnectionState.CONNECTED;
        if (promotable && invariants.uniqueWrites[victim.index()] > 0) {
            model.invalidate("failover while the crashed Primary held writes the survivor lacked: split brain");
        }
        if (promotable && survivor.command(new Command.Primary(false)).done()) {
            stats.failovers++;
        } else if (status.role() == Role.SECONDARY) {
            // The crashed node will come back as the source of its activity-log extents, and
            // writes it acknowledged but never flushed may be gone with its cache (NBD semantics).
            model.invalidate("no failover after the Primary crashed: unflushed acknowledged writes may be lost");
        }
    }


    private void forgetOutstanding(int node) {
        invariants.forgetFlushes(id -> outstanding.containsKey(id) && outstanding.get(id).node() == node);
        outstanding.values().removeIf(p -> p.node() == node);
    }

    /** A planned role switch: demote the Primary, promote the peer. */
    private void switchover() {
        SimNode from = primary();
        if (from == null) {
            return;
        }
        SimNode to = nodes[1 - from.index()];
        boolean writers = outstanding.values().stream().anyMatch(p -> p.node() == from.index());
        boolean force = random.nextInt(4) == 0;
        CommandResult demoted = from.command(new Command.Secondary(force, writers));
        if (writers && !force && demoted.exitCode() != CommandResult.REFUSED) {
            throw failure("secondary was not refused while writers were open: " + demoted, null);
        }
        if (!demoted.done() || !to.up()) {
            return;
        }
        // An operator waits for the peer to see the demotion; STATE follows every DATA sent before it.
        for (int wait = 0; wait < 10 && to.up() && network.inFlightTo(to.index()) > 0; wait++) {
            runFor(5 * MS);
        }
        if (!to.up()) {
            return;
        }
        boolean sawDemotion = to.status().connection() == ConnectionState.CONNECTED
                && network.inFlightTo(to.index()) == 0 && to.status().peerRole() == Role.SECONDARY;
        if (!sawDemotion && protocol != ReplicationProtocol.C) {
            model.invalidate("switchover under protocol " + protocol + " before the new Primary saw the demotion");
        }
        promote(to, false);
    }

    /** Promotes the Secondary while a partition hides the Primary: a split brain in the making. */
    private void promoteWhilePartitioned() {
        SimNode current = primary();
        if (current == null || !network.partitioned()) {
            return;
        }
        SimNode other = nodes[1 - current.index()];
        if (other.up() && other.status().disk() == DiskState.UP_TO_DATE
                && other.status().connection() != ConnectionState.CONNECTED) {
            if (other.command(new Command.Primary(false)).done()) {
                model.invalidate("both nodes promoted while partitioned");
            }
        }
    }

    private void togglePause() {
        SimNode node = nodes[random.nextInt(2)];
        if (node.up()) {
            node.command(random.nextBoolean() ? new Command.PauseSync() : new Command.ResumeSync());
        }
    }

    private void invalidateSecondary() {
        for (SimNode node : nodes) {
            SimNode other = nodes[1 - node.index()];
            boolean otherGood = other.up() && other.status().disk() == DiskState.UP_TO_DATE;
            if (otherGood && node.up() && node.status().role() == Role.SECONDARY
                    && node.status().replication() == ReplicationState.ESTABLISHED) {
                if (node.command(new Command.Invalidate()).done()) {
                    invariants.discarding[node.index()] = true;
                }
                return;
            }
        }
    }

    /** If nobody is Primary, promote a node with UpToDate data (never forcing). */
    private void ensurePrimary() {
        if (primary() != null) {
            return;
        }
        for (SimNode node : nodes) {
            if (node.up() && node.status().disk() == DiskState.UP_TO_DATE) {
                promote(node, false);
                return;
            }
        }
    }

    private void promote(SimNode node, boolean force) {
        SimNode other = nodes[1 - node.index()];
        boolean otherPrimary = other.up() && other.status().role() == Role.PRIMARY;
        CommandResult result = node.command(new Command.Primary(force));
        if (!result.done()) {
            return;
        }
        if (otherPrimary) {
            model.invalidate("two Primaries");
        }
        boolean apart = node.status().connection() != ConnectionState.CONNECTED;
        if (other.up() && invariants.uniqueWrites[other.index()] > 0 && apart) {
            model.invalidate("promoted while the peer held unreplicated writes: split brain");
        }
        if (apart && protocol != ReplicationProtocol.C) {
            model.invalidate("promoted while apart under protocol " + protocol
                    + ": writes the old Primary acknowledged may not have arrived");
        }
    }

    // ---------------------------------------------------------------- scripted API

    /** Boots both nodes and waits for the first handshake (both fresh: Established, no data). */
    void bootPair() {
        nodes[0].boot();
        nodes[1].boot();
        runFor(5 * MS);
    }

    /** Writes {@code count} blocks from {@code first} on {@code node}; returns the request id. */
    long write(int node, int first, int count, boolean fua) {
        long[] versions = new long[count];
        for (int i = 0; i < count; i++) {
            versions[i] = nextVersion++;
            model.issued(first + i, versions[i], versions[i]);
        }
        long id = nextRequestId++;
        outstanding.put(id, new Pending(node, FrontRequest.Kind.WRITE, first, versions, versions.clone()));
        nodes[node].request(FrontRequest.write(id, (long) first * BlockPattern.BLOCK_BYTES,
                BlockPattern.blocks(first, versions), fua));
        return id;
    }

    long flush(int node) {
        long id = nextRequestId++;
        outstanding.put(id, new Pending(node, FrontRequest.Kind.FLUSH, 0, new long[0], new long[0]));
        invariants.promiseDurability(id, nodes[node]);
        nodes[node].request(FrontRequest.flush(id));
        return id;
    }

    /** The errno a request completed with, or null while it is pending. */
    Integer completion(long requestId) {
        return completions.get(requestId);
    }

    /** The version block {@code block} holds on {@code node} (0 zeros, -1 garbage). */
    long valueOn(int node, int block) {
        return BlockPattern.versionOf(nodes[node].disk().block(block), block);
    }

    /** {@code connect --discard-my-data} on {@code node}: the checker then expects it to be overwritten. */
    CommandResult connectDiscardingMyData(int node) {
        invariants.discarding[node] = true;
        model.invalidate(nodes[node].name() + " discards its changes");
        return nodes[node].command(new Command.Connect(true));
    }

    void crash(int node, boolean resetSeen) {
        forgetOutstanding(node);
        nodes[node].crash(resetSeen);
    }

    SimNetwork network() {
        return network;
    }

    // ---------------------------------------------------------------- observer

    @Override
    public void requestCompleted(SimNode node, long requestId, int errno) {
        Pending pending = outstanding.remove(requestId);
        if (pending == null) {
            throw failure(node.name() + " completed unknown request " + requestId, null);
        }
        completions.put(requestId, errno);
        invariants.onFlushCompleted(node, requestId, errno);
        if (pending.kind() == FrontRequest.Kind.FLUSH || errno != Errno.OK) {
            return;
        }
        invariants.onWriteAcknowledged(node);
        for (int i = 0; i < pending.versions().length; i++) {
            model.acknowledged(pending.firstBlock() + i, pending.versions()[i], pending.values()[i]);
        }
        stats.writesAcked++;
    }

    @Override
    public void stateChanged(SimNode node, CoreStatus status) {
        if (invariants.onStateChanged(node, status)) {
            stats.resyncsFinished++;
        }
    }

    @Override
    public void hookRan(SimNode node, String name, SortedMap<String, String> env) {
        if (name.equals("split-brain")) {
            splitBrainSeen[node.index()] = true;
            stats.splitBrains++;
        }
    }

    // ---------------------------------------------------------------- invariants







    /**
     * Ends all faults, restarts crashed nodes, resolves a split brain the way an operator would
     * (discard the changes of the node that is not Primary), and waits until both copies are
     * UpToDate and Established; then they must be byte-identical and hold every acknowledged write.
     */
    void heal() {
        network.partition(false, false);
        for (SimNode node : nodes) {
            if (!node.up()) {
                node.boot();
            }
        }
        long deadline = events.now() + HEAL_NANOS_MAX;
        while (!converged()) {
            if (events.now() > deadline) {
                throw failure("did not converge after healing: " + nodes[0].status() + " | " + nodes[1].status(), null);
            }
            resolveStandAlone();
            ensurePrimary();
            runFor(20 * MS);
        }
        stats.heals++;
        invariants.checkHealed();
        if (!model.valid()) {
            model.rebase(nodes[0].disk());
        }
        invariants.uniqueWrites[0] = 0;
        invariants.uniqueWrites[1] = 0;
    }

    private boolean converged() {
        for (SimNode node : nodes) {
            CoreStatus status = node.status();
            if (status.connection() != ConnectionState.CONNECTED || status.replication() != ReplicationState.ESTABLISHED
                    || status.disk() != DiskState.UP_TO_DATE || status.peerDisk() != DiskState.UP_TO_DATE
                    || !node.idle()) {
                return false;
            }
        }
        return outstanding.isEmpty();
    }

    private void resolveStandAlone() {
        for (SimNode node : nodes) {
            if (node.status().disk() == DiskState.FAILED) {
                forgetOutstanding(node.index());
                node.restartProcess();
            }
        }
        boolean noGoodData = true;
        for (SimNode node : nodes) {
            noGoodData &= node.status().disk() != DiskState.UP_TO_DATE;
        }
        if (noGoodData && nodes[0].status().replication() == ReplicationState.ESTABLISHED) {
            // Both copies were thrown away (invalidate on both sides of a partition): the
            // operator picks one and forces it.
            model.invalidate("both copies invalidated; alpha forced");
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
        if (!anyStandAlone) {
            return;
        }
        if (nodes[0].unrelatedSeen() || nodes[1].unrelatedSeen()) {
            // After a long split brain the histories may no longer meet: create-md on the victim.
            int victim = nodes[0].status().role() == Role.PRIMARY ? 1 : 0;
            invariants.discarding[victim] = true;
            model.invalidate("unrelated data resolved by create-md on " + nodes[victim].name());
            forgetOutstanding(victim);
            nodes[victim].recreateMetadata();
            nodes[1 - victim].clearUnrelated();
            splitBrainSeen[0] = false;
            splitBrainSeen[1] = false;
        }
        if (splitBrainSeen[0] || splitBrainSeen[1]) {
            // Keep a consistent copy: discard the inconsistent one, else the one not Primary.
            int victim = nodes[0].status().role() == Role.PRIMARY ? 1 : 0;
            if (nodes[victim].status().disk() == DiskState.UP_TO_DATE
                    || nodes[victim].status().disk() == DiskState.CONSISTENT) {
                DiskState other = nodes[1 - victim].status().disk();
                if (other == DiskState.INCONSISTENT || other == DiskState.FAILED) {
                    victim = 1 - victim;
                }
            }
            if (nodes[victim].status().role() == Role.PRIMARY) {
                nodes[victim].command(new Command.Secondary(true, false));
            }
            invariants.discarding[victim] = true;
            model.invalidate("split brain resolved by discarding " + nodes[victim].name() + "'s changes");
            if (nodes[victim].status().connection() == ConnectionState.STAND_ALONE) {
                nodes[victim].command(new Command.Connect(true));
            }
            splitBrainSeen[0] = false;
            splitBrainSeen[1] = false;
        }
        for (SimNode node : nodes) {
            if (node.status().connection() == ConnectionState.STAND_ALONE) {
                node.command(new Command.Connect(false));
            }
        }
    }

    // ---------------------------------------------------------------- running

    void runFor(long nanos) {
        long until = events.now() + nanos;
        while (events.now() < until) {
            network.tryConnect();
            events.runUntil(Math.min(until, events.now() + 5 * MS));
        }
        network.tryConnect();
    }

    void waitFor(java.util.function.BooleanSupplier condition, long nanosMax, String what) {
        long deadline = events.now() + nanosMax;
        while (!condition.getAsBoolean()) {
            if (events.now() > deadline) {
                throw failure("timed out waiting for " + what + ": " + nodes[0].status() + " | " + nodes[1].status(), null);
            }
            runFor(5 * MS);
        }
    }

    boolean bothConnectedEstablished() {
        return nodes[0].up() && nodes[1].up()
                && nodes[0].status().replication() == ReplicationState.ESTABLISHED
                && nodes[1].status().replication() == ReplicationState.ESTABLISHED;
    }

    private void expectDone(CommandResult result) {
        if (!result.done()) {
            throw failure("command refused: " + result, null);
        }
    }

    SimulationFailure failure(String message, Throwable cause) {
        return new SimulationFailure("seed " + seed + " step " + step + " (protocol " + protocol + ", " + blocks
                + " blocks, t=" + events.now() / MS + " ms): " + message + "\nreplay with -Dsim.seed=" + seed
                + "\n--- " + nodes[0].name() + "\n" + nodes[0].recentLog() + "\n--- " + nodes[1].name() + "\n"
                + nodes[1].recentLog(), cause);
    }
}
