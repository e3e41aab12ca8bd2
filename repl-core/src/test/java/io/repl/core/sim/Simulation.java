package io.repl.core.sim;

import io.repl.core.replication.AfterSplitBrain;
import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreConfig;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.Errno;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.FrontRequest;
import io.repl.core.replication.OnCongestion;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.core.replication.SyncPolicy;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import java.util.ArrayDeque;
import java.util.EnumSet;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * One seeded run: two nodes, optionally a witness, the networks between them, a random workload
 * of writes, faults and operator actions ({@link FaultPlan}), the invariants checked after every
 * step ({@link Invariants}), and the healing at the end ({@link Healing}). Everything derives from
 * the seed, so a failing seed replays bit for bit.
 */
final class Simulation implements SimNode.Observer {
    static final long MS = 1_000_000L;
    static final int OUTSTANDING_MAX = 12;
    private static final long CONGESTION_SALT = 0x6c696e6b636f6e67L;
    private static final long IO_ERROR_SALT = 0x696f6572726f7221L;
    private static final long RESIZE_SALT = 0x726573697a652121L;
    private static final long SPLIT_BRAIN_SALT = 0x6166746572736221L;
    private static final long CSUMS_SALT = 0x6373756d73212121L;
    private static final long RATE_SALT = 0x7265737972617465L;
    private static final long SOON_SALT = 0x736f6f6e64656c61L;

    /** A front-end request the workload has issued and not seen completed. */
    record Pending(int node, FrontRequest.Kind kind, int firstBlock, long[] versions, long[] values) {
    }

    /**
     * A scripted world: fixed protocol, sizes and failover policy, no random workload.
     *
     * @param dataBytesPeer the second node's size (equal to {@code dataBytes} unless a test
     *     wants mismatched devices)
     */
    record Options(ReplicationProtocol protocol, long dataBytes, long dataBytesPeer, double writeErrorRate,
                   FailoverPolicy failover, CoreConfig.OnIoError onIoError, OnCongestion onCongestion,
                   AfterSplitBrain afterSplitBrain,
                   io.repl.core.replication.RateControl rate) {
        Options(ReplicationProtocol protocol, long dataBytes, long dataBytesPeer, double writeErrorRate,
                FailoverPolicy failover) {
            this(protocol, dataBytes, dataBytesPeer, writeErrorRate, failover, CoreConfig.OnIoError.DETACH,
                    OnCongestion.BLOCK, AfterSplitBrain.defaults(), io.repl.core.replication.RateControl.defaults());
        }

        Options with(AfterSplitBrain next) {
            return new Options(protocol, dataBytes, dataBytesPeer, writeErrorRate, failover, onIoError, onCongestion,
                    next, rate);
        }

        Options(ReplicationProtocol protocol, long dataBytes, long dataBytesPeer, double writeErrorRate,
                FailoverPolicy failover, CoreConfig.OnIoError onIoError, OnCongestion onCongestion) {
            this(protocol, dataBytes, dataBytesPeer, writeErrorRate, failover, onIoError, onCongestion,
                    AfterSplitBrain.defaults(), io.repl.core.replication.RateControl.defaults());
        }

        Options with(io.repl.core.replication.RateControl next) {
            return new Options(protocol, dataBytes, dataBytesPeer, writeErrorRate, failover, onIoError, onCongestion,
                    afterSplitBrain, next);
        }

        static Options of(ReplicationProtocol protocol) {
            return new Options(protocol, 1L << 20, 1L << 20, 0, FailoverPolicy.defaults());
        }

        Options with(FailoverPolicy next) {
            return new Options(protocol, dataBytes, dataBytesPeer, writeErrorRate, next, onIoError, onCongestion,
                    afterSplitBrain, rate);
        }

        Options withOnIoError(CoreConfig.OnIoError next) {
            return new Options(protocol, dataBytes, dataBytesPeer, writeErrorRate, failover, next, onCongestion,
                    afterSplitBrain, rate);
        }

        Options with(OnCongestion next) {
            return new Options(protocol, dataBytes, dataBytesPeer, writeErrorRate, failover, onIoError, next,
                    afterSplitBrain, rate);
        }
    }

    /** What a run did, for the test's report. */
    static final class Stats {
        long writesAcked;
        long crashes;
        long failovers;
        long splitBrains;
        long resyncsFinished;
        long heals;
        long events;
        long promotionsChecked;
    }

    final long seed;
    final SplittableRandom random;
    final EventQueue events = new EventQueue();
    final SimNetwork network;
    final SimNode[] nodes = new SimNode[2];
    /** The witness and its connections, or null in a world without one. */
    final SimWitness witness;
    final SimWitnessNet witnessNet;
    final ReplicationProtocol protocol;
    /** The seed's {@code on-io-error}. */
    final CoreConfig.OnIoError onIoError;
    final FailoverPolicy failover;
    final OnCongestion onCongestion;
    /** The seed's after-split-brain policies. */
    final AfterSplitBrain afterSplitBrain;
    /** Per node: the victim the last automatic split-brain resolution named (node index), or -1. */
    private final int[] policyVictim = {-1, -1};
    /** Per node: the connection that resolution happened on. */
    private final long[] policyConnection = new long[2];
    /** Automatic discards per policy, for the report. */
    final java.util.TreeMap<String, Integer> policyDiscards = new java.util.TreeMap<>();
    final int blocks;
    /** Both nodes start smaller than their disks, and the plan may grow them online. */
    final boolean resizable;
    final DataModel model;
    final Invariants invariants;
    private final ResumeCheck resumeCheck;
    final TreeMap<Long, Pending> outstanding = new TreeMap<>();
    /** Completed requests and their errno, for scripted tests. */
    private final TreeMap<Long, Integer> completions = new TreeMap<>();
    /** The buffers of reads issued through {@link #read}. */
    private final TreeMap<Long, java.nio.ByteBuffer> reads = new TreeMap<>();
    final boolean[] splitBrainSeen = new boolean[2];
    /**
     * A handler the core ran: on which node, which event, with what environment, and the node's
     * out-of-sync bytes at that moment (a resync may clear them before a check between steps looks).
     */
    record FiredHook(int node, String name, SortedMap<String, String> env, long outOfSyncBytes) {}
    /** Every handler run, in order, for scripted tests. */
    final java.util.List<FiredHook> hooks = new java.util.ArrayList<>();
    /** Per node: the command that answered "pending" and waits for its result, or null. */
    private final Command[] waitingCommand = new Command[2];
    /** Per node: the result of the command that waited, once it came. */
    private final CommandResult[] waitedResult = new CommandResult[2];
    final Stats stats = new Stats();
    final EnumSet<Fault> exercised = EnumSet.noneOf(Fault.class);
    private final TreeMap<String, Long> resyncAnswers = new TreeMap<>();
    private final ArrayDeque<String> witnessLog = new ArrayDeque<>();
    /** Scripted worlds answer the fence-peer handler themselves: the requests wait here. */
    private final boolean scriptedFencing;
    /** Scripted fencing: the handler runs not answered yet, oldest first. */
    final java.util.List<FenceRequest> fenceRequests = new java.util.ArrayList<>();

    record FenceRequest(SimNode node, long run) {
    }
    private final int steps;
    private final FaultPlan plan;
    private final Healing healing;
    private long nextRequestId = 1;
    private long nextVersion = 1;
    private int step;
    /** The initial sync's --force on fresh disks risks nothing. */
    private boolean settingUp;

    Simulation(long seed) {
        this(seed, null);
    }

    Simulation(long seed, Options scripted) {
        this.seed = seed;
        this.scriptedFencing = scripted != null;
        this.random = new SplittableRandom(seed);
        int sizeChoice = random.nextInt(3);
        int protocolChoice = random.nextInt(10);
        double randomErrorRate = random.nextInt(5) == 0 ? 0.002 : 0.0;
        ReplicationProtocol randomProtocol = protocolChoice < 7 ? ReplicationProtocol.C
                : protocolChoice < 9 ? ReplicationProtocol.B : ReplicationProtocol.A;
        long randomBytes = (1L << 20) << sizeChoice;
        FailoverPolicy randomPolicy = randomPolicy(random);
        Options options = scripted != null ? scripted
                : new Options(randomProtocol, randomBytes, randomBytes, randomErrorRate, randomPolicy);
        this.protocol = options.protocol();
        this.failover = options.failover();
        this.blocks = (int) (options.dataBytes() / BlockPattern.BLOCK_BYTES);
        this.steps = 150 + random.nextInt(250);
        this.model = new DataModel(blocks);
        this.network = new SimNetwork(events, random.split(), 1 + random.nextLong(2 * MS));
        // Drawn from a stream of its own, so every other choice of a seed stays what it was.
        // Scripted worlds congest only when a test says so.
        SplittableRandom congestionRandom = new SplittableRandom(seed ^ CONGESTION_SALT);
        network.congestAbove(scripted != null ? Long.MAX_VALUE : congestionBytes(congestionRandom));
        this.onCongestion = scripted != null ? scripted.onCongestion() : onCongestion(congestionRandom, protocol);
        CoreConfig config = simConfig(protocol, random.nextInt(4) + 2, failover).withOnCongestion(onCongestion);
        // One seed in five passes disk errors on instead of detaching; drawn apart, as above.
        if (scripted != null) {
            config = config.withOnIoError(scripted.onIoError());
        } else if (new SplittableRandom(seed ^ IO_ERROR_SALT).nextInt(5) == 0) {
            config = config.withOnIoError(CoreConfig.OnIoError.PASS_ON);
        }
        this.onIoError = config.onIoError();
        this.afterSplitBrain = scripted != null ? scripted.afterSplitBrain()
                : afterSplitBrain(new SplittableRandom(seed ^ SPLIT_BRAIN_SALT));
        config = config.withSync(config.sync().withAfterSplitBrain(afterSplitBrain));
        // Checksum resync and zero blocks, drawn apart as above: a quarter of the seeds resync
        // with checksums on both nodes, a quarter on one node only (the configurations differ),
        // a quarter with csums configured but the peer not offering it; zero blocks half the time.
        SplittableRandom csumsRandom = new SplittableRandom(seed ^ CSUMS_SALT);
        int csumsChoice = scripted != null ? 0 : csumsRandom.nextInt(4);
        boolean zeroBlocks = scripted != null || csumsRandom.nextBoolean();
        int features = io.repl.protocol.Features.LZ4 | (csumsChoice == 3 ? 0 : io.repl.protocol.Features.CSUM_RESYNC)
                | (zeroBlocks ? io.repl.protocol.Features.ZERO_BLOCKS : 0);
        config = config.withSync(config.sync().withRate(scripted != null ? scripted.rate()
                : randomRate(new SplittableRandom(seed ^ RATE_SALT))));
        for (int i = 0; i < 2; i++) {
            boolean csums = csumsChoice == 1 || csumsChoice == 3 || csumsChoice == 2 && i == 0;
            nodes[i] = new SimNode(i, i == 0 ? "alpha" : "beta", events, network, random.split(),
                    config.withSync(config.sync().withCsums(csums)),
                    i == 0 ? options.dataBytes() : options.dataBytesPeer(),
                    // Random disk errors hit one node of a pair: two disks failing at once is a
                    // double fault, which one surviving copy cannot cover.
                    i == (int) (seed & 1) ? options.writeErrorRate() : 0, this,
                    // Random seeds also delay the activity log's batch now and then (a stream of
                    // its own, so that the rest of the run is drawn as before); scripted ones not.
                    scripted != null ? null : new SplittableRandom(seed ^ SOON_SALT ^ i));
            nodes[i].features(features);
        }
        // One random seed in four starts both nodes on part of their disks, to grow online later.
        this.resizable = scripted == null && options.dataBytes() == options.dataBytesPeer()
                && new SplittableRandom(seed ^ RESIZE_SALT).nextInt(4) == 0;
        if (resizable) {
            for (SimNode node : nodes) {
                node.startSmaller(options.dataBytes() / 2);
            }
        }
        network.attach(nodes[0], nodes[1]);
        if (failover.witness()) {
            witness = new SimWitness(witnessLog);
            witnessNet = new SimWitnessNet(events, random.split(), witness);
            witnessNet.attach(nodes[0], nodes[1]);
            nodes[0].attachWitness(witnessNet);
            nodes[1].attachWitness(witnessNet);
        } else {
            witness = null;
            witnessNet = null;
        }
        this.invariants = new Invariants(this, nodes, model, protocol, blocks);
        this.resumeCheck = new ResumeCheck(this, nodes);
        this.plan = new FaultPlan(this);
        this.healing = new Healing(this);
    }

    /**
     * A third of the seeds never congest; the others have a send queue of 16 to 128 KiB, from
     * a few writes to more than the workload ever has outstanding (a partition fills any).
     */
    private static long congestionBytes(SplittableRandom random) {
        int dice = random.nextInt(6);
        return dice < 2 ? Long.MAX_VALUE : (16L << 10) << (dice - 2);
    }

    /**
     * Half the seeds of protocol A pull ahead on a congested link (the congestion fill is then
     * the send queue's high water mark); B and C always block.
     */
    private static OnCongestion onCongestion(SplittableRandom random, ReplicationProtocol protocol) {
        return protocol == ReplicationProtocol.A && random.nextBoolean() ? OnCongestion.PULL_AHEAD : OnCongestion.BLOCK;
    }

    /**
     * Half the seeds keep disconnect everywhere; the others draw an after-sb-0pri policy and an
     * after-sb-1pri one (consensus only with a 0pri policy that can decide).
     */
    private static AfterSplitBrain afterSplitBrain(SplittableRandom random) {
        if (random.nextBoolean()) {
            return AfterSplitBrain.defaults();
        }
        AfterSplitBrain.ZeroPrimaries[] zeros = AfterSplitBrain.ZeroPrimaries.values();
        AfterSplitBrain.ZeroPrimaries zero = zeros[random.nextInt(zeros.length)];
        AfterSplitBrain.OnePrimary[] ones = AfterSplitBrain.OnePrimary.values();
        AfterSplitBrain.OnePrimary one = ones[random.nextInt(ones.length)];
        if (one == AfterSplitBrain.OnePrimary.CONSENSUS && zero == AfterSplitBrain.ZeroPrimaries.DISCONNECT) {
            one = AfterSplitBrain.OnePrimary.DISCARD_SECONDARY;
        }
        return new AfterSplitBrain(zero, one, AfterSplitBrain.TwoPrimaries.DISCONNECT);
    }

    /**
     * Resync pacing, scaled to volumes of a few MiB as the timeouts are: half the seeds with a
     * floor of 64 MiB/s and the default horizon and fill target; the others with a small fill
     * target, a ceiling and a floor the resyncs feel (a full sync of 4 MiB takes up to half a
     * second), and a horizon of a few ticks to many, or no controller at all (a fixed rate). The
     * workload writes all the time, so most resyncs run at the floor. (Slower resyncs keep pairs
     * out of sync for so long that the witness's depositions, which need a pair in sync, become
     * too rare to count.)
     */
    static io.repl.core.replication.RateControl randomRate(SplittableRandom random) {
        io.repl.core.replication.RateControl d = io.repl.core.replication.RateControl.defaults();
        if (random.nextBoolean()) {
            return new io.repl.core.replication.RateControl(64L << 20, d.maxBytesPerSecond(), d.planAheadNanos(),
                    d.fillTargetBytes(), 0);
        }
        long fill = (16L << 10) << (2 * random.nextInt(3));
        long max = (32L << 20) << (2 * random.nextInt(3));
        long min = Math.min(max, (8L << 20) << random.nextInt(3));
        int horizon = random.nextInt(4);
        if (horizon == 0) {
            long fixed = min + random.nextLong(max - min + 1);
            return io.repl.core.replication.RateControl.fixed(fixed, min, max, fill);
        }
        long planAhead = new long[] {20 * MS, 100 * MS, 1000 * MS}[horizon - 1];
        return new io.repl.core.replication.RateControl(min, max, planAhead, fill, 0);
    }

    /** Four in ten seeds run with a witness; the rest spread over the fencing policies. */
    private static FailoverPolicy randomPolicy(SplittableRandom random) {
        int dice = random.nextInt(20);
        FailoverPolicy policy = FailoverPolicy.defaults().withWitness(false);
        if (dice < 8) {
            policy = policy.withWitness(true);
        } else if (dice < 17) {
            policy = policy.withFencing(dice < 13 ? FailoverPolicy.Fencing.OUTDATE
                    : FailoverPolicy.Fencing.RESOURCE_AND_STONITH);
        } else {
            policy = policy.withFencing(FailoverPolicy.Fencing.DONT_CARE);
        }
        if (random.nextInt(3) == 0) {
            policy = policy.withOnNoQuorum(FailoverPolicy.OnNoQuorum.IO_ERROR);
        }
        return new FailoverPolicy(policy.fencing(), policy.witness(), policy.onNoQuorum(), 1000 * MS);
    }

    static CoreConfig simConfig(ReplicationProtocol protocol, int resyncWindow, FailoverPolicy failover) {
        FailoverPolicy scaled = new FailoverPolicy(failover.fencing(), failover.witness(), failover.onNoQuorum(),
                Math.min(failover.witnessAnswerNanos(), 1000 * MS));
        return new CoreConfig("r0", protocol, 64 * 1024, 32, 64, 8, resyncWindow, 16,
                10 * MS, 50 * MS, 200 * MS, 1000 * MS, true, scaled, CoreConfig.OnIoError.DETACH, OnCongestion.BLOCK,
                SyncPolicy.defaults());
    }

    SimNode node(int index) {
        return nodes[index];
    }

    SimNode other(SimNode node) {
        return nodes[1 - node.index()];
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

    int step() {
        return step;
    }

    /** The whole run: set up, random steps, heal, final checks. */
    void run() {
        try {
            setUp();
            for (step = 1; step <= steps; step++) {
                plan.randomStep();
                invariants.checkEveryStep(outstanding.isEmpty());
            }
            step = steps + 1;
            heal();
            new VerifyCheck(this).run();
            if (witness != null && witness.grants > 0) {
                exercised.add(Fault.WITNESS_GRANTED);
            }
            if (network.cutsBefore() > 0) {
                exercised.add(Fault.RESYNC_END_UNSEEN);
            }
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
        waitFor(this::bothConnectedEstablished, 2000 * MS, "initial connect");
        if (random.nextInt(3) == 0) {
            // Two fresh zeroed disks are identical: skip the initial sync (documented use).
            expectDone(nodes[0].command(new Command.NewCurrentUuidClearBitmap()));
            waitFor(() -> nodes[1].status().disk() == DiskState.UP_TO_DATE, 1000 * MS, "clear-bitmap on the peer");
            expectDone(promote(nodes[random.nextInt(2)], false, 500 * MS));
        } else {
            settingUp = true;
            expectDone(nodes[0].command(new Command.Primary(true)));
            settingUp = false;
        }
        runFor(2 * MS);
    }

    // ---------------------------------------------------------------- requests

    /** A node that is Primary now (a random one if both are), or null. */
    SimNode primary() {
        SimNode chosen = null;
        for (SimNode node : nodes) {
            if (node.up() && node.status().role() == Role.PRIMARY && (chosen == null || random.nextBoolean())) {
                chosen = node;
            }
        }
        return chosen;
    }

    /** Issues a write of random blocks on {@code node}: data, or (rarely) zeroes; returns the request id. */
    long issueRandomWrite(SimNode node) {
        int length = random.nextInt(8) == 0 ? 1 + random.nextInt(16) : 1 + random.nextInt(3);
        int live = (int) (node.dataBytes() / BlockPattern.BLOCK_BYTES);
        int first = random.nextInt(live - length + 1);
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
        return id;
    }

    void issueRandomFlush(SimNode node) {
        flush(node.index());
    }

    /** Forgets what the workload waited for on {@code node}: it crashed, its clients are gone. */
    void forgetOutstanding(int node) {
        announcedOutOfSync[node].clear();
        peerHas[node].clear();
        dataUnanswered[node].clear();
        invariants.forgetFlushes(id -> outstanding.containsKey(id) && outstanding.get(id).node() == node);
        outstanding.values().removeIf(p -> p.node() == node);
    }

    // ---------------------------------------------------------------- promotions

    /**
     * An operator runs {@code primary} on {@code node} (never --force outside set-up and
     * healing). A promotion the witness or the fence-peer handler must decide answers later;
     * this waits for it up to {@code waitNanos}. Returns the final answer, or null if none came.
     */
    CommandResult promote(SimNode node, boolean force, long waitNanos) {
        SimNode other = other(node);
        boolean otherPrimary = other.up() && other.status().role() == Role.PRIMARY;
        boolean apart = node.status().connection() != ConnectionState.CONNECTED;
        boolean already = node.status().role() == Role.PRIMARY;
        Answer answer = command(node, new Command.Primary(force), waitNanos);
        if (answer != null && answer.done() && !answer.waited() && !already) {
            promoted(node, force, otherPrimary, apart);
        }
        return answer == null ? null : answer.result();
    }

    /** A command's answer, and whether it came later (the observer then saw it first). */
    private record Answer(CommandResult result, boolean waited) {
        boolean done() {
            return result.done();
        }
    }

    /**
     * Runs {@code command} on {@code node}; one that answers "pending" (the witness or the
     * fence-peer handler decides) is waited for up to {@code waitNanos}.
     */
    private Answer command(SimNode node, Command command, long waitNanos) {
        CommandResult result = node.command(command);
        if (!result.isPending()) {
            return new Answer(result, false);
        }
        int i = node.index();
        waitingCommand[i] = command;
        waitedResult[i] = null;
        long deadline = events.now() + waitNanos;
        while (waitingCommand[i] != null && events.now() < deadline && node.up()) {
            runFor(5 * MS);
        }
        waitingCommand[i] = null;
        return waitedResult[i] == null ? null : new Answer(waitedResult[i], true);
    }

    /** {@code command} on {@code node}, waiting for a pending answer; null if none came in time. */
    CommandResult commandAndWait(SimNode node, Command command, long waitNanos) {
        Answer answer = command(node, command, waitNanos);
        return answer == null ? null : answer.result();
    }

    /** Every successful promotion goes through here: the checker looks at the new Primary. */
    private void promoted(SimNode node, boolean force, boolean otherWasPrimary, boolean apart) {
        if (force) {
            return;
        }
        stats.promotionsChecked++;
        boolean dontCare = failover.fencing() == FailoverPolicy.Fencing.DONT_CARE;
        if (dontCare && (otherWasPrimary || apart && invariants.uniqueWrites[1 - node.index()] > 0)) {
            model.invalidate("promoted under fencing dont-care while the peer held writes it lacks");
        }
        if ((apart || network.inFlightTo(node.index()) > 0) && protocol != ReplicationProtocol.C) {
            model.invalidate("promoted under protocol " + protocol + " while the old Primary's writes, which it"
                    + " acknowledged, may not have arrived");
            // Those writes are what protocols A and B may lose in a failover: the old Primary
            // comes back as the target of the new one and they are overwritten. Only the ones it
            // acknowledges from now on count against a silent merge.
            invariants.uniqueWrites[1 - node.index()] = 0;
        }
        invariants.checkPromotion(node);
    }

    // ---------------------------------------------------------------- scripted API

    /** Boots both nodes and waits for the first handshake (both fresh: Established, no data). */
    void bootPair() {
        nodes[0].boot();
        nodes[1].boot();
        runFor(5 * MS);
    }

    /**
     * Boots both nodes on fresh disks, declares them equal (clear-bitmap) and promotes
     * {@code primary}: an in-sync pair with nothing to resync (scripted tests).
     */
    void bootInSyncWithPrimary(int primary) {
        bootPair();
        waitFor(this::bothConnectedEstablished, 1000 * MS, "first handshake");
        expectDone(nodes[primary].command(new Command.NewCurrentUuidClearBitmap()));
        awaitInSync();
        expectDone(promoteNow(primary));
        awaitInSync();
    }

    /** Writes blocks 0 to {@code count - 1} on {@code node}, one request each, {@code pauseNanos} apart. */
    java.util.List<Long> writeOneBlockEach(int node, int count, long pauseNanos) {
        java.util.List<Long> ids = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            ids.add(write(node, i, 1, false));
            runFor(pauseNanos);
        }
        return ids;
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

    /**
     * Reads {@code count} blocks from {@code first} through {@code node}'s core (from its peer
     * while it serves through it); {@link #readBack} has the bytes once it completed.
     */
    long read(int node, int first, int count) {
        long id = nextRequestId++;
        java.nio.ByteBuffer into = java.nio.ByteBuffer.allocate(count * BlockPattern.BLOCK_BYTES);
        reads.put(id, into);
        outstanding.put(id, new Pending(node, FrontRequest.Kind.READ, first, new long[0], new long[0]));
        nodes[node].request(FrontRequest.read(id, (long) first * BlockPattern.BLOCK_BYTES, into.duplicate(), false));
        return id;
    }

    /** The version each block of a completed read holds (0 zeroes, -1 garbage). */
    long[] readBack(long requestId, int first) {
        java.nio.ByteBuffer b = reads.get(requestId);
        long[] versions = new long[b.capacity() / BlockPattern.BLOCK_BYTES];
        for (int i = 0; i < versions.length; i++) {
            byte[] block = new byte[BlockPattern.BLOCK_BYTES];
            b.get(i * BlockPattern.BLOCK_BYTES, block);
            versions[i] = BlockPattern.versionOf(block, first + i);
        }
        return versions;
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

    /** Power loss of {@code node}: what it did not flush may be gone. */
    void crash(int node, boolean resetSeen) {
        forgetOutstanding(node);
        if (nodes[node].crash(resetSeen) > 0) {
            exercised.add(Fault.WRITES_IN_FLIGHT_AT_CRASH);
        }
        model.powerLoss(nodes[node].disk());
    }

    /** kill -9 of {@code node}'s agent: the disk keeps what reached it. */
    void kill(int node, boolean resetSeen) {
        forgetOutstanding(node);
        if (nodes[node].kill(resetSeen) > 0) {
            exercised.add(Fault.WRITES_IN_FLIGHT_AT_CRASH);
        }
    }

    SimNetwork network() {
        return network;
    }

    // ---------------------------------------------------------------- observer

    /** Per node: the ranges it sent OUT_OF_SYNC for (writes it went Ahead with), until they complete. */
    @SuppressWarnings("unchecked")
    private final java.util.List<java.util.List<Long>>[] announcedOutOfSync = new java.util.List[] {
        new java.util.ArrayList<java.util.List<Long>>(), new java.util.ArrayList<java.util.List<Long>>()};

    private static java.util.List<Long> pendingRange(Pending pending) {
        return java.util.List.of((long) pending.firstBlock() * BlockPattern.BLOCK_BYTES,
                (long) pending.versions().length * BlockPattern.BLOCK_BYTES);
    }

    @Override
    public void sentResyncAnswer(SimNode node, io.repl.protocol.Message message) {
        if (message instanceof io.repl.protocol.ChecksumReply reply) {
            exercised.add(reply.inSync() ? Fault.CSUM_MATCHED : Fault.CSUM_DIFFERED);
            resyncAnswers.merge(reply.inSync() ? "csum-in-sync" : "csum-differs", 1L, Long::sum);
        } else if (message instanceof io.repl.protocol.ResyncData data) {
            if (data.zeroes()) {
                exercised.add(Fault.ZERO_BLOCK_SENT);
            }
            resyncAnswers.merge(data.zeroes() ? "zero-block" : "data", 1L, Long::sum);
        }
    }

    /** Resync answers sent, by kind: csum-in-sync, csum-differs, zero-block, data. */
    long resyncAnswers(String kind) {
        return resyncAnswers.getOrDefault(kind, 0L);
    }

    /** Per node: DATA sent on the current connection and not yet answered, by sequence number. */
    @SuppressWarnings("unchecked")
    private final java.util.Map<Long, java.util.List<Long>>[] dataUnanswered = new java.util.Map[] {
        new java.util.HashMap<Long, java.util.List<Long>>(), new java.util.HashMap<Long, java.util.List<Long>>()};
    /** Per node: ranges of its writes the peer acknowledged receiving, until the writes complete. */
    @SuppressWarnings("unchecked")
    private final java.util.List<java.util.List<Long>>[] peerHas = new java.util.List[] {
        new java.util.ArrayList<java.util.List<Long>>(), new java.util.ArrayList<java.util.List<Long>>()};

    @Override
    public void sentData(SimNode node, long seq, long offset, long length) {
        dataUnanswered[node.index()].put(seq, java.util.List.of(offset, length));
    }

    @Override
    public void peerAcknowledged(SimNode node, long seq) {
        java.util.List<Long> range = dataUnanswered[node.index()].remove(seq);
        if (range != null) {
            peerHas[node.index()].add(range);
        }
    }

    @Override
    public void connected(SimNode node) {
        dataUnanswered[node.index()].clear();
    }

    @Override
    public void sentOutOfSync(SimNode node, long offset, long length) {
        announcedOutOfSync[node.index()].add(java.util.List.of(offset, length));
    }

    @Override
    public void requestCompleted(SimNode node, long requestId, int errno) {
        Pending pending = outstanding.remove(requestId);
        if (pending == null) {
            throw failure(node.name() + " completed unknown request " + requestId, null);
        }
        boolean peerHasIt = pending.kind() != FrontRequest.Kind.FLUSH && pending.kind() != FrontRequest.Kind.READ
                && peerHas[node.index()].remove(pendingRange(pending));
        if (pending.kind() != FrontRequest.Kind.FLUSH && errno != Errno.OK) {
            announcedOutOfSync[node.index()].remove(pendingRange(pending));
        }
        completions.put(requestId, errno);
        invariants.onFlushCompleted(node, requestId, errno);
        if (pending.kind() == FrontRequest.Kind.FLUSH || pending.kind() == FrontRequest.Kind.READ || errno != Errno.OK) {
            return;
        }
        invariants.onWriteAcknowledged(node, announcedOutOfSync[node.index()].remove(pendingRange(pending)), peerHasIt);
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
        if (resumeCheck.onStateChanged(node, status)) {
            exercised.add(Fault.RESYNC_RESUMED);
        }
        notePullAhead(node, status);
        if (status.failover().heldReason() != null) {
            exercised.add(Fault.WRITES_HELD);
        }
        if (status.disk() == DiskState.OUTDATED && status.failover().diskNote() != null
                && status.failover().diskNote().startsWith("deposed")) {
            exercised.add(Fault.DEPOSED);
        }
    }

    /**
     * Per node: 1 once it went Ahead, 2 once it then became SyncSource; back in sync after that
     * counts as {@link Fault#PULLED_AHEAD}. A lost connection or a crash starts over.
     */
    private final int[] pullAheadStage = new int[2];

    private void notePullAhead(SimNode node, CoreStatus status) {
        int i = node.index();
        ReplicationState r = status.replication();
        if (r == ReplicationState.AHEAD) {
            pullAheadStage[i] = 1;
        } else if (r.isSource() && pullAheadStage[i] >= 1) {
            pullAheadStage[i] = 2;
        } else if (r == ReplicationState.ESTABLISHED && pullAheadStage[i] == 2 && status.disk() == DiskState.UP_TO_DATE
                && status.peerDisk() == DiskState.UP_TO_DATE) {
            pullAheadStage[i] = 0;
            exercised.add(Fault.PULLED_AHEAD);
        } else if (r == ReplicationState.OFF && status.connection() != ConnectionState.CONNECTED) {
            pullAheadStage[i] = 0;
        }
    }

    /** Set once the end check corrupted a copy: before that, verify must find nothing. */
    boolean corruptionInjected;
    /** After that: the "verify: OFFSET+LENGTH differs ..." lines, and how many verifies stopped part way. */
    final java.util.List<String> verifyReports = new java.util.ArrayList<>();
    int verifyStops;

    @Override
    public void verifyStopped(SimNode node) {
        verifyStops++;
        exercised.add(Fault.VERIFY_STOPPED);
    }

    @Override
    public void verifyReported(SimNode node, String line) {
        if (!corruptionInjected) {
            String range = line.substring("verify: ".length(), line.indexOf(' ', "verify: ".length()));
            if (node.knownOutOfSyncAtVerifyStart(VerifyCheck.blocksOf(range))) {
                // A difference the bitmaps held already: verify finds it again, as it should.
                return;
            }
            throw failure(node.name() + "'s verify reported a difference between copies the simulation never"
                    + " corrupted: " + line, null);
        }
        verifyReports.add(line);
    }

    @Override
    public void hookRan(SimNode node, String name, SortedMap<String, String> env) {
        hooks.add(new FiredHook(node.index(), name, env, node.status().outOfSyncBytes()));
        if (name.equals("after-verify") && !corruptionInjected) {
            exercised.add(Fault.VERIFY_COMPLETED);
        }
        if (name.equals("split-brain") && env.containsKey("REPL_VICTIM")) {
            policyDiscarded(node, env);
        } else if (name.equals("split-brain")) {
            splitBrainSeen[node.index()] = true;
            stats.splitBrains++;
        }
    }

    /**
     * An after-split-brain policy discarded one side's changes. Both nodes must name the same
     * victim, the policy must allow it, and what the victim acknowledged alone is lost as the
     * operator configured (the checker then stops expecting it); the survivor's writes are kept.
     */
    private void policyDiscarded(SimNode node, SortedMap<String, String> env) {
        int i = node.index();
        int victim = env.get("REPL_VICTIM").equals("local") ? i : 1 - i;
        String policy = env.get("REPL_POLICY");
        policyVictim[i] = victim;
        policyConnection[i] = node.connectionId();
        if (policyConnection[1 - i] == policyConnection[i] && policyVictim[1 - i] != victim) {
            throw failure("the two nodes named different victims of " + policy, null);
        }
        SimNode loser = nodes[victim];
        // The peer may have gone down since it sent what this node's handshake decided on: then
        // there is no role or disk of it to check here (its own handshake, on its return, names
        // its victim again).
        if (loser.up() && loser.status().role() == Role.PRIMARY) {
            throw failure(policy + " discarded the changes of " + loser.name() + ", a Primary", null);
        }
        if (policy.equals("continued")) {
            // The resync of an earlier resolution was cut off: its victim is Inconsistent and stays it.
            io.repl.protocol.DiskState disk = loser.up() ? loser.status().disk() : io.repl.protocol.DiskState.INCONSISTENT;
            if (disk == io.repl.protocol.DiskState.UP_TO_DATE || disk == io.repl.protocol.DiskState.CONSISTENT
                    || disk == io.repl.protocol.DiskState.OUTDATED) {
                throw failure("a continued resolution discarded " + loser.name() + ", which is "
                        + loser.status().disk().displayName(), null);
            }
            return;
        }
        boolean zeroChanges = policy.endsWith("discard-zero-changes");
        long changed = Long.parseLong(env.get(victim == i ? "REPL_CHANGED_BLOCKS_LOCAL" : "REPL_CHANGED_BLOCKS_PEER"));
        if (zeroChanges && (changed != 0 || invariants.uniqueWrites[victim] > 0)) {
            throw failure(policy + " discarded " + loser.name() + ", which changed " + changed + " blocks and holds "
                    + invariants.uniqueWrites[victim] + " writes acknowledged alone", null);
        }
        long kept = Long.parseLong(env.get(victim == i ? "REPL_CHANGED_BLOCKS_PEER" : "REPL_CHANGED_BLOCKS_LOCAL"));
        if (policy.endsWith("discard-least-changes") && !(changed < kept || changed == 0 && kept == 0)) {
            throw failure(policy + " discarded " + changed + " changed blocks and kept " + kept, null);
        }
        boolean younger = policy.endsWith("discard-younger-primary");
        // Which side split as Primary is read from both nodes' metadata, which a node that went
        // down since sending its state does not have open: the check waits for the next handshake.
        if ((younger || policy.endsWith("discard-older-primary")) && loser.up() && other(loser).up()) {
            boolean loserOlder = splitAsPrimary(loser);
            if (loserOlder == younger || splitAsPrimary(other(loser)) == loserOlder) {
                throw failure(policy + " discarded " + loser.name() + ", split as Primary: " + loserOlder, null);
            }
        }
        if (policyConnection[1 - i] != policyConnection[i]) {
            policyDiscards.merge(policy, 1, Integer::sum);
            exercised.add(Fault.AFTER_SPLIT_BRAIN_DISCARD);
            invariants.discarding[victim] = true;
            if (invariants.uniqueWrites[victim] > 0 || protocol != ReplicationProtocol.C) {
                model.invalidate(policy + " discarded " + loser.name() + "'s changes");
            }
            // Gone: if the resync is cut off, healing must not take them for writes to keep.
            invariants.uniqueWrites[victim] = 0;
        }
    }

    private static boolean splitAsPrimary(SimNode node) {
        var superblock = node.metadata().superblock();
        return superblock.uuids().bitmap() != 0
                && superblock.has(io.repl.core.metadata.SuperblockFlag.SPLIT_AS_PRIMARY);
    }

    @Override
    public void commandCompleted(SimNode node, CommandResult result) {
        int i = node.index();
        Command waited = waitingCommand[i];
        waitingCommand[i] = null;
        waitedResult[i] = result;
        if (result.done() && (waited == null || waited instanceof Command.Primary)) {
            // A promotion that waited: the peer saw it, or the witness or the fence-peer
            // handler decided it.
            SimNode other = other(node);
            promoted(node, false, other.up() && other.status().role() == Role.PRIMARY,
                    node.status().connection() != ConnectionState.CONNECTED);
        }
    }

    @Override
    public void fenceRequested(SimNode node, long run) {
        if (scriptedFencing) {
            fenceRequests.add(new FenceRequest(node, run));
        } else {
            plan.fencePeer(node, run);
        }
    }

    @Override
    public void congested(SimNode node) {
        for (Pending p : outstanding.values()) {
            if (p.node() == node.index() && p.kind() != FrontRequest.Kind.FLUSH) {
                exercised.add(Fault.LINK_CONGESTED);
                return;
            }
        }
    }

    @Override
    public void forcedPromotion(SimNode node) {
        if (!settingUp) {
            // The operator's word against the rules: what the other node wrote alone may go.
            model.invalidate(node.name() + " promoted with --force");
        }
    }

    /** Scripted: the oldest fence-peer handler run of {@code node} not answered yet exits with {@code exitCode}. */
    void answerFence(int node, int exitCode) {
        FenceRequest oldest = fenceRequests.stream().filter(r -> r.node() == nodes[node]).findFirst()
                .orElseThrow(() -> new IllegalStateException(nodes[node].name() + " ran no fence-peer handler"));
        fenceRequests.remove(oldest);
        nodes[node].fenceResult(nodes[node].incarnation(), oldest.run(), exitCode);
    }

    // ---------------------------------------------------------------- healing and running

    void heal() {
        healing.heal();
    }

    void runFor(long nanos) {
        long until = events.now() + nanos;
        while (events.now() < until) {
            tryConnect();
            events.runUntil(Math.min(until, events.now() + 5 * MS));
        }
        tryConnect();
    }

    private void tryConnect() {
        network.tryConnect();
        if (witnessNet != null) {
            witnessNet.tryConnect();
        }
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

    /** Waits until both copies are UpToDate, Established and idle (scripted tests). */
    void awaitInSync() {
        waitFor(() -> {
            for (SimNode node : nodes) {
                CoreStatus status = node.status();
                if (status.disk() != DiskState.UP_TO_DATE || status.replication() != ReplicationState.ESTABLISHED
                        || !node.idle()) {
                    return false;
                }
            }
            return true;
        }, 5000 * MS, "both UpToDate");
    }

    boolean bothConnectedEstablished() {
        return nodes[0].up() && nodes[1].up()
                && nodes[0].status().replication() == ReplicationState.ESTABLISHED
                && nodes[1].status().replication() == ReplicationState.ESTABLISHED;
    }

    /** {@code primary} on {@code node}, waiting for its answer (scripted tests). */
    CommandResult promoteNow(int node) {
        CommandResult result = promote(nodes[node], false, 1000 * MS);
        return result == null ? CommandResult.refused("no answer", "") : result;
    }

    void expectDone(CommandResult result) {
        if (result == null || !result.done()) {
            throw failure("command refused: " + result, null);
        }
    }

    SimulationFailure failure(String message, Throwable cause) {
        String policy = "fencing " + failover.fencing() + (failover.witness() ? " + witness" : "")
                + ", on-no-quorum " + failover.onNoQuorum() + ", on-congestion " + onCongestion
                + (network.congestionBytesHigh() == Long.MAX_VALUE ? "" : " at " + network.congestionBytesHigh());
        return new SimulationFailure("seed " + seed + " step " + step + " (protocol " + protocol + ", " + policy
                + ", on-io-error " + onIoError + (afterSplitBrain.automatic() ? ", " + afterSplitBrain : "") + ", "
                + blocks + " blocks, t=" + events.now() / MS + " ms): " + message + "\nreplay with -Dsim.seed=" + seed
                + "\n--- " + nodes[0].name() + "\n" + nodes[0].recentLog() + "\n--- " + nodes[1].name() + "\n"
                + nodes[1].recentLog() + (witness == null ? "" : "\n--- witness\n" + String.join("\n", witnessLog)),
                cause);
    }
}
