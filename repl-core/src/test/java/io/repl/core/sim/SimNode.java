package io.repl.core.sim;

import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.MetadataLayout;
import io.repl.core.metadata.MetaPlacement;
import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreActions;
import io.repl.core.replication.CoreConfig;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.DiskIo;
import io.repl.core.replication.FrontRequest;
import io.repl.core.replication.ReplicationCore;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Message;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.SortedMap;
import java.util.SplittableRandom;

/**
 * One simulated node: a {@link ReplicationCore} driven by the event queue, with a simulated data
 * disk and metadata device. It is the simulator's driver: every action becomes a future event,
 * never a call back into the core.
 */
final class SimNode implements CoreActions {
    /** Notified of what the workload and the checker need to see. */
    interface Observer {
        void requestCompleted(SimNode node, long requestId, int errno);

        void stateChanged(SimNode node, CoreStatus status);

        void hookRan(SimNode node, String name, SortedMap<String, String> env);

        /** A command that answered "pending" finished (a promotion the witness decided). */
        void commandCompleted(SimNode node, CommandResult result);

        /** The core asks for the fence-peer handler; answer with {@link #fenceResult}. */
        void fenceRequested(SimNode node, long run);

        /** An operator promoted {@code node} with --force, and it worked. */
        void forcedPromotion(SimNode node);

        /** {@code node}'s core was told its link is congested. */
        default void congested(SimNode node) {
        }

        /** {@code node} sent OUT_OF_SYNC: a write it does not mirror (it is Ahead). */
        default void sentOutOfSync(SimNode node, long offset, long length) {
        }

        /** {@code node} sent DATA {@code seq} for a range of its writes. */
        default void sentData(SimNode node, long seq, long offset, long length) {
        }

        /** {@code node}'s peer answered DATA {@code seq} with RECV_ACK or WRITE_ACK: it has the write. */
        default void peerAcknowledged(SimNode node, long seq) {
        }

        /** {@code node} connected: DATA sequence numbers start over. */
        default void connected(SimNode node) {
        }

        /** {@code node} sent a resync answer: RS_DATA or CSUM_REPLY. */
        default void sentResyncAnswer(SimNode node, Message message) {
        }

        /** {@code node}'s online verify reported a range that differs (a "verify: ... differs" log line). */
        default void verifyReported(SimNode node, String line) {
        }

        /** {@code node}'s online verify stopped part way. */
        default void verifyStopped(SimNode node) {
        }
    }

    /** {@code -Dsim.trace=true} logs every message and disk operation (for replaying one seed). */
    private static final boolean TRACE = Boolean.getBoolean("sim.trace");
    private static final int LOG_LINES = TRACE ? 100_000 : 40;
    private final int index;
    private final String name;
    private final EventQueue events;
    private final SimNetwork network;
    private final SplittableRandom random;
    /** Draws the delay of {@link #runSoon}; null: none. */
    private final SplittableRandom soonDelays;
    private CoreConfig config;
    /** The metadata's geometry now, and before the last online resize (a restart finds either). */
    private MetadataLayout layout;
    private MetadataLayout previousLayout;
    /** What the disk offers an online resize: its whole size. */
    private final long capacityBytes;
    private final SimDisk disk;
    /** The replication state last published: OUT_OF_SYNC sent while VerifyS comes from verify. */
    private ReplicationState lastReplication = ReplicationState.OFF;
    /** The blocks dirty in this node's bitmap when it last started an online verify as source. */
    private java.util.BitSet dirtyAtVerifyStart = new java.util.BitSet();
    private final SimMetaDevice metaDevice;
    private final Observer observer;
    private final ArrayDeque<String> log = new ArrayDeque<>();
    private double writeErrorRate;
    /**
     * Data writes submitted and not yet performed, by I/O id: at a crash or kill each one lands
     * or not, as a write the kernel already had may or may not reach the disk.
     */
    private final java.util.LinkedHashMap<Long, Runnable> writesInFlight = new java.util.LinkedHashMap<>();
    /** Every data-disk flush fails with EIO (until the operator restarts the process on a repaired disk). */
    private boolean failingFlushes;
    /** While set, every write and zeroing fails with EIO (scripted tests make a broken disk with this). */
    private boolean writesFail;
    private ReplicationCore core;
    private Metadata metadata;
    private boolean up;
    private int incarnation;
    private long timerGeneration;
    private long connectionId;
    private boolean closing;
    /** The core was told the connection is not writable (and not told otherwise since). */
    private boolean congested;
    private boolean unrelatedSeen;
    /** The core said its detached disk may be released: it must not touch the disk again. */
    private boolean diskReleased;
    /** Attached a disk while Primary (since the last boot): it may be Primary and Inconsistent while it resyncs. */
    private boolean attachedAsPrimary;
    private String lastStates = "";
    /** While stalled, disk operations wait (scripted tests make a slow disk with this). */
    private boolean stalled;
    private final ArrayDeque<Runnable> stalledIo = new ArrayDeque<>();
    /** The witness connections, or null when this world has no witness. */
    private SimWitnessNet witnessNet;
    /** The dirty blocks when the current connection came up (before its handshake). */
    private java.util.BitSet bitmapAtConnect = new java.util.BitSet();
    /** Counts create-md and attach: a resync into metadata made since starts afresh. */
    private int metadataEpoch;
    /** What the handshake agrees on every connection (the same on both nodes of a world). */
    private int features = io.repl.protocol.Features.OFFERED;
    private final java.util.TreeSet<Integer> unreadableBlocks = new java.util.TreeSet<>();

    SimNode(int index, String name, EventQueue events, SimNetwork network, SplittableRandom random,
            CoreConfig config, long dataBytes, double writeErrorRate, Observer observer,
            SplittableRandom soonDelays) {
        this.index = index;
        this.soonDelays = soonDelays;
        this.name = name;
        this.events = events;
        this.network = network;
        this.random = random;
        this.config = config;
        this.layout = MetadataLayout.forData(MetaPlacement.EXTERNAL, dataBytes, 4);
        this.previousLayout = layout;
        this.capacityBytes = dataBytes;
        this.disk = new SimDisk(dataBytes);
        this.metaDevice = new SimMetaDevice(layout.areaBlocks());
        this.writeErrorRate = writeErrorRate;
        this.observer = observer;
        createMetadata();
    }

    /**
     * create-md, with a small activity log (1 MiB extents, two to four hot) so that the
     * simulator's small volumes still evict extents.
     */
    private void createMetadata() {
        try {
            metadataEpoch++;
            Metadata created = Metadata.create(metaDevice, layout, index, name, random);
            int activeMax = 2 + random.nextInt(3);
            created.updateSuperblock(s -> s.withActivityLog(1 << 20, activeMax));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int index() {
        return index;
    }

    /**
     * create-md for only {@code dataBytes} of the disk (before the first boot), so that an online
     * resize can grow into the rest.
     */
    void startSmaller(long dataBytes) {
        layout = MetadataLayout.forData(MetaPlacement.EXTERNAL, dataBytes, 4);
        previousLayout = layout;
        createMetadata();
    }

    /** The data size the metadata describes now. */
    long dataBytes() {
        return layout.dataBytes();
    }

    @Override
    public long diskCapacityBytes() {
        return capacityBytes;
    }

    @Override
    public String resizeRefusal(long dataBytes) {
        return dataBytes < layout.dataBytes() ? "external metadata does not shrink" : null;
    }

    /** External metadata grows in place, as the agent's does. */
    @Override
    public Metadata resizeDisk(Metadata current, long dataBytes, long[] dirty) throws IOException {
        MetadataLayout next = MetadataLayout.forData(MetaPlacement.EXTERNAL, dataBytes, 4);
        Metadata resized = current.resize(metaDevice, true, next, dirty);
        note("resized " + layout.dataBytes() + " -> " + dataBytes);
        previousLayout = layout;
        layout = next;
        metadata = resized;
        return resized;
    }

    /** The configuration of the next boot (a scripted test changes it before the first). */
    void reconfigure(CoreConfig next) {
        this.config = next;
    }

    /** Reads that touch {@code block} fail with EIO while {@code on} (a bad sector). */
    void failReadsOf(int block, boolean on) {
        if (on) {
            unreadableBlocks.add(block);
        } else {
            unreadableBlocks.remove(block);
        }
    }

    private boolean unreadable(long offset, int length) {
        Integer next = unreadableBlocks.ceiling((int) (offset / BlockPattern.BLOCK_BYTES));
        return next != null && (long) next * BlockPattern.BLOCK_BYTES < offset + length;
    }

    void features(int agreed) {
        this.features = agreed;
    }

    void attachWitness(SimWitnessNet net) {
        this.witnessNet = net;
    }

    int incarnation() {
        return incarnation;
    }

    CoreConfig config() {
        return config;
    }

    String name() {
        return name;
    }

    boolean up() {
        return up;
    }

    SimDisk disk() {
        return disk;
    }

    Metadata metadata() {
        return metadata;
    }

    long connectionId() {
        return connectionId;
    }

    CoreStatus status() {
        return core.status();
    }

    boolean idle() {
        return !up || core.idle() && stalledIo.isEmpty();
    }

    boolean wantsConnection() {
        return up && core.status().connection() == ConnectionState.CONNECTING;
    }

    /** Opens the metadata (recovering the activity log after a crash) and starts a new core. */
    void boot() {
        diskReleased = false;
        attachedAsPrimary = false;
        // A node comes up only on working devices (up refuses a failing metadata device): the
        // operator has repaired whatever failed.
        metaDevice.failing = false;
        failingFlushes = false;
        writesFail = false;
        try {
            // Where the agent's locator would look: the current geometry and the one before.
            java.util.List<Metadata.Candidate> candidates = java.util.List.of(
                    new Metadata.Candidate(metaDevice, layout), new Metadata.Candidate(metaDevice, previousLayout));
            layout = candidates.get(Metadata.newest(candidates)).layout();
            metadata = Metadata.open(metaDevice, layout, name);
        } catch (IOException | io.repl.core.metadata.MetadataException e) {
            throw new IllegalStateException(name + ": metadata did not open after restart: " + e.getMessage(), e);
        }
        incarnation++;
        up = true;
        connectionId = 0;
        closing = false;
        core = new ReplicationCore(config, metadata, this, random);
        core.start(events.now());
    }

    /**
     * down + up of the agent (no power loss): how an operator re-attaches a failed disk. The
     * activity log is replayed since the stop was not clean.
     */
    void restartProcess() {
        landWritesInFlight();
        up = false;
        incarnation++;
        core = null;
        stalledIo.clear();
        network.crashed(index, true);
        if (witnessNet != null) {
            witnessNet.nodeGone(index);
        }
        note("restart");
        boot();
    }

    /** Power loss: the core and everything in flight vanish; caches are lost or torn. */
    int crash(boolean resetSeen) {
        int inFlight = landWritesInFlight();
        up = false;
        incarnation++;
        core = null;
        stalledIo.clear();
        metadata = null;
        disk.crash(random);
        metaDevice.crash(random);
        network.crashed(index, resetSeen);
        if (witnessNet != null) {
            witnessNet.nodeGone(index);
        }
        note("CRASH");
        return inFlight;
    }

    /**
     * kill -9 of the agent: the core and its pending I/O vanish, but what reached the kernel
     * (the disk's cache, the metadata device's) stays, as it does for a killed process.
     */
    int kill(boolean resetSeen) {
        int inFlight = landWritesInFlight();
        up = false;
        incarnation++;
        core = null;
        stalledIo.clear();
        metadata = null;
        network.crashed(index, resetSeen);
        if (witnessNet != null) {
            witnessNet.nodeGone(index);
        }
        note("KILL");
        return inFlight;
    }

    /**
     * The process ends with writes submitted: each lands in the disk's cache or not (a power
     * loss then treats what landed as any unflushed write). Returns how many were in flight.
     */
    private int landWritesInFlight() {
        int count = writesInFlight.size();
        for (Runnable write : writesInFlight.values()) {
            if (random.nextBoolean()) {
                write.run();
            }
        }
        writesInFlight.clear();
        return count;
    }

    /** The metadata device starts failing every write and flush (a restart repairs it). */
    void failMetadata() {
        metaDevice.failing = true;
        note("METADATA FAILING");
    }

    /** The data disk starts failing every flush (a restart repairs it). */
    void failFlushes() {
        failingFlushes = true;
        note("FLUSHES FAILING");
    }

    /** Whether the node is Diskless and its disk released, so that the operator may attach it. */
    boolean attachedAsPrimary() {
        return attachedAsPrimary;
    }

    boolean detachedDiskReleased() {
        return up && diskReleased;
    }

    /**
     * {@code attach} of the same disk, healed (writes and the metadata device work again): the
     * operator's way back from a detach. The core resyncs it in full from the peer.
     */
    CommandResult attachHealedDisk() {
        writesFail = false;
        metaDevice.failing = false;
        failingFlushes = false;
        Metadata reopened;
        try {
            reopened = Metadata.open(metaDevice, layout, name);
        } catch (IOException | io.repl.core.metadata.MetadataException e) {
            throw new IllegalStateException(name + ": metadata did not open for attach: " + e.getMessage(), e);
        }
        diskReleased = false;
        CommandResult result = command(new Command.Attach(reopened));
        if (result.done()) {
            metadataEpoch++;
            metadata = reopened;
            attachedAsPrimary |= core.status().role() == io.repl.protocol.Role.PRIMARY;
        } else {
            diskReleased = true;
        }
        return result;
    }

    /** Whether the metadata device fails its writes (noticed by the core or not yet). */
    boolean metadataFailing() {
        return metaDevice.failing;
    }

    boolean writesFailing() {
        return writesFail;
    }

    boolean hasRandomWriteErrors() {
        return writeErrorRate > 0;
    }

    void failWrites(boolean on) {
        writesFail = on;
    }

    /** The disk is healthy from now on: no failing writes or flushes, random or not, nor metadata writes. */
    void healDisk() {
        writesFail = false;
        failingFlushes = false;
        metaDevice.failing = false;
        writeErrorRate = 0;
    }

    void stall(boolean on) {
        stalled = on;
        while (!on && !stalledIo.isEmpty()) {
            stalledIo.pollFirst().run();
        }
    }

    /**
     * The operator's way out of "unrelated data": take the resource down, create-md, bring it
     * up. The data stays; the fresh metadata (no generation) makes this node a full SyncTarget.
     */
    void recreateMetadata() {
        up = false;
        incarnation++;
        core = null;
        network.crashed(index, true);
        if (witnessNet != null) {
            witnessNet.nodeGone(index);
        }
        // create-md runs on a working device: the operator repaired whatever failed (a detach
        // may have left a failing metadata device behind unnoticed).
        metaDevice.failing = false;
        createMetadata();
        note("create-md");
        unrelatedSeen = false;
        boot();
    }

    void clearUnrelated() {
        unrelatedSeen = false;
    }

    boolean unrelatedSeen() {
        return unrelatedSeen;
    }

    CommandResult command(Command command) {
        note("command " + command);
        CommandResult result = core.onCommand(command, events.now());
        if (command instanceof Command.Primary primary && primary.force() && result.done()) {
            observer.forcedPromotion(this);
        }
        if (result.isPending()) {
            note("  pending");
        } else if (!result.done()) {
            note("  refused (" + result.exitCode() + "): " + result.reason());
        }
        return result;
    }

    void witnessConnected() {
        note("witness connected");
        core.onWitnessConnected(events.now());
    }

    void witnessDisconnected() {
        note("witness disconnected");
        core.onWitnessDisconnected(events.now());
    }

    void witnessMessage(Message message) {
        if (TRACE) {
            note("witness says " + message);
        }
        core.onWitnessMessage(message, events.now());
    }

    /** Run {@code run} of the fence-peer handler of incarnation {@code life} exited with {@code exitCode}. */
    void fenceResult(int life, long run, int exitCode) {
        if (up && incarnation == life) {
            note("fence-peer run " + run + " exited " + exitCode);
            core.onFenceResult(run, exitCode, "", events.now());
        }
    }

    void request(FrontRequest request) {
        core.onRequest(request, events.now());
    }

    void deliver(Message message) {
        if (closing) {
            // The core asked to close this connection: the driver reads nothing more from it.
            return;
        }
        if (TRACE) {
            note("recv " + message);
        }
        if (message instanceof io.repl.protocol.WriteAck ack) {
            observer.peerAcknowledged(this, ack.seq());
        } else if (message instanceof io.repl.protocol.ReceiveAck ack) {
            observer.peerAcknowledged(this, ack.seq());
        }
        core.onPeerMessage(message, events.now());
    }

    /** The connection's send queue crossed a water mark (see {@link SimNetwork#congestAbove}). */
    void peerWritable(boolean writable) {
        if (closing) {
            return;
        }
        congested = !writable;
        note(writable ? "link drained" : "link congested");
        if (!writable) {
            observer.congested(this);
        }
        core.onPeerWritable(writable, events.now());
    }

    void connected(String peerName, int peerNodeId, long id) {
        bitmapAtConnect = dirtyBlocks(metadata.bitmap());
        connectionId = id;
        closing = false;
        congested = false;
        note("connected to " + peerName);
        observer.connected(this);
        core.onPeerConnected(peerName, peerNodeId, features, events.now());
    }

    void disconnected() {
        connectionId = 0;
        closing = false;
        congested = false;
        note("disconnected");
        core.onPeerDisconnected("connection closed or timed out", events.now());
    }

    private void later(long delayNanos, Runnable action) {
        int life = incarnation;
        events.after(delayNanos, () -> {
            if (up && incarnation == life) {
                action.run();
            }
        });
    }

    private long ioLatency() {
        long base = 20_000 + random.nextLong(400_000);
        return random.nextInt(50) == 0 ? base + random.nextLong(20_000_000) : base;
    }

    @Override
    public void submitIo(DiskIo io) {
        if (diskReleased) {
            throw new IllegalStateException(name + ": " + io.kind() + " submitted after the core released its disk");
        }
        if (TRACE) {
            note("io " + io.ioId() + " " + io.kind() + " " + io.offset() / 4096 + "+" + io.length() / 4096);
        }
        if (stalled) {
            stalledIo.addLast(() -> submitIo(io));
            return;
        }
        SimDisk.FlushSnapshot flush = io.kind() == DiskIo.Kind.FLUSH ? disk.snapshotForFlush() : null;
        if (io.kind() == DiskIo.Kind.WRITE) {
            ByteBuffer data = io.data().duplicate();
            writesInFlight.put(io.ioId(), () -> disk.write(io.offset(), data, io.fua()));
        } else if (io.kind() == DiskIo.Kind.ZERO) {
            writesInFlight.put(io.ioId(), () -> disk.zero(io.offset(), io.length(), io.fua()));
        }
        later(ioLatency(), () -> {
            writesInFlight.remove(io.ioId());
            ByteBuffer read = io.kind() == DiskIo.Kind.READ ? disk.read(io.offset(), io.length()) : null;
            int errno = perform(io, flush);
            if (TRACE) {
                note("io " + io.ioId() + " done errno " + errno);
            }
            core.onIoCompleted(io.ioId(), errno, read, events.now());
        });
    }

    /** Applies the operation to the disk; returns its errno. */
    private int perform(DiskIo io, SimDisk.FlushSnapshot flush) {
        boolean failing = writesFail && io.kind() != DiskIo.Kind.READ
                || writeErrorRate > 0 && random.nextDouble() < writeErrorRate;
        switch (io.kind()) {
            case WRITE:
                if (failing) {
                    return 5;
                }
                disk.write(io.offset(), io.data(), io.fua());
                return 0;
            case ZERO:
                if (failing) {
                    return 5;
                }
                disk.zero(io.offset(), io.length(), io.fua());
                return 0;
            case READ:
                return failing || unreadable(io.offset(), io.length()) ? 5 : 0;
            default:
                if (failingFlushes) {
                    return 5;
                }
                disk.applyFlush(flush);
                return 0;
        }
    }

    @Override
    public void send(Message message) {
        if (TRACE) {
            note("send " + message);
        }
        if (congested && message.type() == io.repl.protocol.MessageType.DATA) {
            // Invariant: the core admits no write while it knows the link is congested.
            throw new IllegalStateException(name + " sent DATA while its link was congested: " + message);
        }
        if (message instanceof io.repl.protocol.DataWrite data) {
            observer.sentData(this, data.seq(), data.offset(), data.length());
        }
        if (message instanceof io.repl.protocol.OutOfSync oos && lastReplication != ReplicationState.VERIFY_S) {
            observer.sentOutOfSync(this, oos.offset(), oos.length());
        }
        if (message.type() == io.repl.protocol.MessageType.RS_DATA
                || message.type() == io.repl.protocol.MessageType.CSUM_REPLY) {
            observer.sentResyncAnswer(this, message);
        }
        network.send(index, message);
    }

    @Override
    public void completeRequest(long requestId, int errno) {
        if (TRACE) {
            note("complete " + requestId + " errno " + errno);
        }
        observer.requestCompleted(this, requestId, errno);
    }

    @Override
    public void closeConnection(DisconnectReason reason, String detail) {
        note("close " + reason + ": " + detail);
        closing = true;
        if (network.currentId() == connectionId) {
            network.send(index, new io.repl.protocol.Disconnect(reason, detail));
        }
        network.close(index);
    }

    @Override
    public void runSoon() {
        // After the events queued now, or a little later so that more writes share the batch.
        long delay = soonDelays != null && soonDelays.nextInt(4) == 0 ? soonDelays.nextLong(300_000) : 0;
        later(delay, () -> core.onSoon(events.now()));
    }

    @Override
    public void armTimer(long deadlineNanos) {
        long generation = ++timerGeneration;
        later(Math.max(0, deadlineNanos - events.now()), () -> {
            if (timerGeneration == generation) {
                core.onTimer(events.now());
                checkProgressPersisted();
            }
        });
    }

    @Override
    public void stateChanged(CoreStatus status) {
        String states = status.toString().replaceAll(" oos=.*", "");
        if (!states.equals(lastStates)) {
            note("state " + status);
            lastStates = states;
        }
        if (status.replication() == ReplicationState.VERIFY_S && lastReplication != ReplicationState.VERIFY_S
                && metadata != null) {
            dirtyAtVerifyStart = dirtyBlocks(metadata.bitmap());
        }
        lastReplication = status.replication();
        observer.stateChanged(this, status);
    }

    @Override
    public void runHook(String hook, SortedMap<String, String> env) {
        note("hook " + hook + " " + env);
        observer.hookRan(this, hook, env);
    }

    @Override
    public void log(String level, String message) {
        if (message.contains("share no generation")) {
            unrelatedSeen = true;
        }
        if (message.startsWith("online verify stopped")) {
            observer.verifyStopped(this);
        }
        if (message.startsWith("verify: ") && message.contains(" differs from ")) {
            observer.verifyReported(this, message);
        }
        if (message.startsWith("BUG")) {
            throw new IllegalStateException(name + ": " + message);
        }
        note(level + ": " + message);
    }

    @Override
    public void sendToWitness(Message message) {
        if (TRACE) {
            note("to witness " + message);
        }
        if (witnessNet != null) {
            witnessNet.send(index, message);
        }
    }

    @Override
    public void fencePeer(long run, SortedMap<String, String> env) {
        note("fence-peer run " + run + " " + env);
        observer.fenceRequested(this, run);
    }

    @Override
    public void commandCompleted(CommandResult result) {
        note("command completed (" + result.exitCode() + ")" + (result.done() ? "" : ": " + result.reason()));
        observer.commandCompleted(this, result);
    }

    @Override
    public void diskDetached() {
        note("disk detached and released");
        diskReleased = true;
    }

    java.util.BitSet bitmapAtConnect() {
        return bitmapAtConnect;
    }

    int metadataEpoch() {
        return metadataEpoch;
    }

    /**
     * Whether every one of {@code blocks} was marked out of sync here when this node's latest
     * verify began: a difference the pair already knew of (a write that failed on one node under
     * on-io-error = pass-on, say), which verify rightly reports.
     */
    boolean knownOutOfSyncAtVerifyStart(java.util.Set<Integer> blocks) {
        return !blocks.isEmpty() && blocks.stream().allMatch(dirtyAtVerifyStart::get);
    }

    static java.util.BitSet dirtyBlocks(io.repl.core.metadata.DirtyBitmap bitmap) {
        java.util.BitSet dirty = new java.util.BitSet();
        for (long block = bitmap.nextDirtyBlock(0); block >= 0; block = bitmap.nextDirtyBlock(block + 1)) {
            dirty.set((int) block);
        }
        return dirty;
    }

    /**
     * Bounded loss of resync progress: after every tick of a resync, the bitmap on the metadata
     * device is the one in memory, so a crash redoes at most what one tick cleared.
     */
    private void checkProgressPersisted() {
        CoreStatus status = core.status();
        if (!status.replication().isSource() && !status.replication().isTarget() || metaDevice.failing
                || diskReleased || status.disk() == io.repl.protocol.DiskState.FAILED
                || status.disk() == io.repl.protocol.DiskState.DISKLESS) {
            return;
        }
        java.util.BitSet onDisk;
        try {
            onDisk = dirtyBlocks(io.repl.core.metadata.DirtyBitmap.load(metaDevice, layout));
        } catch (IOException | io.repl.core.metadata.MetadataException e) {
            throw new IllegalStateException(name + ": bitmap unreadable: " + e.getMessage(), e);
        }
        java.util.BitSet inMemory = dirtyBlocks(metadata.bitmap());
        if (!onDisk.equals(inMemory)) {
            throw new IllegalStateException(name + ": a tick of " + status.replication().displayName()
                    + " left the bitmap on disk behind: " + onDisk.cardinality() + " dirty blocks on disk, "
                    + inMemory.cardinality() + " in memory");
        }
    }

    void note(String line) {
        if (log.size() >= LOG_LINES) {
            log.pollFirst();
        }
        long micros = events.now() / 1000;
        log.addLast(micros / 1000 + "." + (micros % 1000 + 1000 + "").substring(1) + " ms " + name + " " + line);
    }

    String recentLog() {
        return String.join("\n", log);
    }
}
