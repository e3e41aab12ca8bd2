package io.repl.agent.replication;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.repl.agent.config.ResourceConfig;
import io.repl.agent.peer.PayloadBuffers;
import io.repl.agent.peer.PeerLink;
import io.repl.agent.peer.PeerLinkConfig;
import io.repl.agent.peer.PeerSession;
import io.repl.agent.witness.WitnessLink;
import io.repl.agent.witness.WitnessLinkConfig;
import io.repl.core.metadata.Metadata;
import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreActions;
import io.repl.core.replication.CoreConfig;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.DiskIo;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.FrontRequest;
import io.repl.core.replication.ReplicationCore;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.SyncPolicy;
import io.repl.hooks.HookRunner;
import io.repl.io.AlignedBuffers;
import io.repl.io.BlockEngine;
import io.repl.io.IoCallback;
import io.repl.protocol.DataWrite;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Message;
import io.repl.protocol.handshake.HandshakeResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The real driver of one resource's replication core: it runs the core on one Netty event
 * loop, turns the core's actions into block engine I/O, peer messages, timers and handlers,
 * and turns their completions back into core events on that same loop. Nothing else ever
 * calls the core, so the core needs no locks; every completion hops onto the loop, so the
 * core is never re-entered from inside one of its own actions.
 */
public final class CoreDriver implements CoreActions, PeerLink.Listener {
    private static final System.Logger LOG = System.getLogger(CoreDriver.class.getName());
    /**
     * The peer link keeps the connection alive with its own PING/PING_ACK, by the same
     * {@code Liveness} rule the core's heartbeat runs in the simulator, and does not pass them
     * up; so the core's ping is turned off here. Its request timeout still catches a peer that
     * stops answering writes.
     */
    private static final long CORE_PING_OFF_NANOS = TimeUnit.DAYS.toNanos(365);
    /** How long the control thread waits for the core's immediate answer to a command. */
    private static final long COMMAND_ANSWER_SECONDS = 60;
    /** Beyond the core's own deadline for a pending command, for the tick that notices it. */
    private static final long PENDING_MARGIN_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final String name;
    private final EventLoop loop;
    /**
     * The data disk's engine; null while the node is Diskless (the core released it and the
     * resource closed it). Used on the loop; read elsewhere only to serve reads.
     */
    private volatile BlockEngine engine;
    /** The pool the front end takes buffers from: the first engine's, kept across detach and attach. */
    private final AlignedBuffers buffers;
    /** The peer's payloads received into {@link #buffers}, until their disk writes claim them. */
    private final LentPayloads payloads = new LentPayloads();
    /** Writes whose bytes had to be copied into aligned memory first; loop-confined. */
    private long writeCopies;
    private final int alignment;
    /** Told, on the loop, that the core released the detached disk; closes it elsewhere. */
    private volatile Consumer<BlockEngine> onDiskReleased = e -> { };
    /** The resource's part of an online resize; null: the disk is not resized online. */
    private volatile DiskResizer resizer;
    /** The data size the core serves, which an online resize changes; the export reports it. */
    private volatile long dataBytes;
    private final ResourceConfig config;
    /** Replaced by {@link #adjust}; read on the loop. */
    private volatile ResourceHandlers handlers;
    private final Consumer<CoreStatus> onStatus;
    private final ReplicationCore core;
    private final PeerLink link;
    /** Null without a {@code [witness]}; checked before anything starts. */
    private final WitnessLinkConfig witnessConfig;
    /** Null without a {@code [witness]}; started once the core runs. */
    private WitnessLink witness;
    private final PendingCommand pending;
    private final long pendingWaitNanos;
    private final int peerNodeId;
    private final boolean copyPayloads;
    private final Map<Long, IoCallback> requests = new HashMap<>();
    private long nextRequestId = 1;
    private PeerSession session;
    private ScheduledFuture<?> timer;
    private volatile CoreStatus status;
    private boolean closed;
    /**
     * Core code is running on the loop now (an event or a command): an engine completion that
     * arrives from inside it (a ring that has stopped completes at once) waits as a task.
     */
    private int inCore;
    /**
     * The core threw (a bug): it may be half way through a change, so it gets no further event.
     * Requests fail with EIO, the peer connection closes, status says Failed and why; the agent
     * and its other resources go on.
     */
    private RuntimeException broken;
    /** How often an operation the engine answered EAGAIN is submitted again (pauses 0.1 ms doubling). */
    static final int IO_RETRIES_MAX = 8;
    private static final int EAGAIN = io.repl.io.Errno.EAGAIN;
    private static final int EIO = io.repl.io.Errno.EIO;
    /**
     * The core asked to close the current session: frames that were already queued from it
     * are not delivered (the core has left that connection), only its end is.
     */
    private boolean sessionClosing;
    /** Waiting, on the loop, for the accepted writes to settle: see {@link #whenWritesSettle()}. */
    private final List<CompletableFuture<String>> settleWaiters = new ArrayList<>();

    private CoreDriver(String name, EventLoop loop, BlockEngine engine, Metadata metadata, ResourceConfig config,
                       PeerLinkConfig linkConfig, int peerNodeId, HookRunner hooks, Consumer<CoreStatus> onStatus) {
        this.name = name;
        this.dataBytes = metadata.layout().dataBytes();
        this.loop = loop;
        this.engine = engine;
        this.buffers = engine.buffers();
        this.alignment = engine.alignment();
        this.config = config;
        this.handlers = new ResourceHandlers(name, linkConfig.localNode(), linkConfig.peerAddress(),
                config.handlers(), hooks);
        this.onStatus = onStatus;
        this.peerNodeId = peerNodeId;
        this.copyPayloads = config.protocol() == ResourceConfig.Protocol.A;
        CoreConfig cc = coreConfig(config);
        FailoverPolicy failover = cc.failover();
        this.witnessConfig = config.witness().isPresent() ? witnessLinkConfig(config, linkConfig) : null;
        this.core = new ReplicationCore(cc, metadata, this, new SecureRandom());
        this.link = PeerLink.create(loop, linkConfig, this);
        this.pending = new PendingCommand(name, loop);
        // A pending promotion waits for the witness or for the fence-peer handler, whichever
        // the policy involves; the core answers within that time, this adds a margin.
        long decisionNanos = Math.max(failover.witnessAnswerNanos(), ResourceHandlers.FENCE_PEER_DEADLINE.toNanos());
        this.pendingWaitNanos = decisionNanos + PENDING_MARGIN_NANOS;
    }

    /**
     * The core's tunables for this resource: its protocol, failover rules, on-congestion,
     * after-split-brain policies, checksum resync, resync rate controller and verify-alg, the rest defaults.
     * (congestion-fill is the link's high water mark: {@link PeerLinkConfig#from}.)
     */
    static CoreConfig coreConfig(ResourceConfig config) {
        CoreConfig d = CoreConfig.defaults(config.name(), ReplicationProtocol.valueOf(config.protocol().name()));
        return new CoreConfig(config.name(), d.protocol(), d.requestBytesMax(), d.writesInFlightMax(),
                d.queuedRequestsMax(), d.epochWritesMax(), d.resyncWindow(), d.resyncFlushBlocks(), d.tickNanos(),
                CORE_PING_OFF_NANOS, CORE_PING_OFF_NANOS, d.requestTimeoutNanos(), true, failoverPolicy(config),
                config.disk().onIoError(), config.net().onCongestion(),
                SyncPolicy.defaults().withAfterSplitBrain(config.net().afterSplitBrain())
                        .withCsums(config.disk().csums()).withRate(config.disk().resyncRate())
                        .withVerifyAlgorithm(config.net().verifyAlgorithm()));
    }

    /** The resource's fencing, witness and quorum rules, as the core takes them. */
    static FailoverPolicy failoverPolicy(ResourceConfig config) {
        FailoverPolicy p = FailoverPolicy.defaults().withFencing(config.disk().fencing());
        if (config.witness().isPresent()) {
            p = p.withWitness(true).withOnNoQuorum(config.witness().get().onNoQuorum());
        }
        return p;
    }

    /** The witness link's settings: the resource's shared secret and its [net] timers. */
    private static WitnessLinkConfig witnessLinkConfig(ResourceConfig config, PeerLinkConfig linkConfig) {
        ResourceConfig.Net net = config.net();
        return new WitnessLinkConfig(config.name(), linkConfig.localNode(), config.witness().orElseThrow().address(),
                net.sharedSecret().getBytes(StandardCharsets.UTF_8), net.connectRetry(), net.timeout(),
                net.pingInterval(), net.pingTimeout());
    }

    /** Creates the driver and starts the core on {@code loop}; the peer link starts connecting. */
    public static CoreDriver start(String name, EventLoop loop, BlockEngine engine, Metadata metadata,
                                   ResourceConfig config, PeerLinkConfig linkConfig, int peerNodeId, HookRunner hooks,
                                   Consumer<CoreStatus> onStatus) throws InterruptedException, ExecutionException {
        CompletableFuture<CoreDriver> made = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                CoreDriver d = new CoreDriver(name, loop, engine, metadata, config, linkConfig, peerNodeId, hooks,
                        onStatus);
                d.inCore++;
                try {
                    d.core.start(now());
                } finally {
                    d.inCore--;
                }
                d.status = d.core.status();
                d.followConnection(d.status);
                if (d.witnessConfig != null) {
                    d.witness = WitnessLink.start(loop, d.witnessConfig, d.new WitnessEvents());
                }
                made.complete(d);
            } catch (RuntimeException e) {
                made.completeExceptionally(e);
            }
        });
        return made.get();
    }

    private static long now() {
        return System.nanoTime();
    }

    public CoreStatus status() {
        return status;
    }

    public EventLoop loop() {
        return loop;
    }

    public PeerLink link() {
        return link;
    }

    /**
     * {@code adjust}: the handlers of {@code next} from now on, and its resync, verify and
     * split-brain settings for whatever the core starts next ({@link Command.Adjust}). The
     * caller has checked that nothing else changed ({@link io.repl.agent.config.ConfigChanges}).
     */
    public CommandResult adjust(ResourceConfig next) throws InterruptedException, ExecutionException,
            TimeoutException {
        handlers = handlers.withCommands(next.handlers());
        return command(new Command.Adjust(coreConfig(next).sync()));
    }

    /**
     * Runs an operator command on the core's loop and waits for its answer. A command the core
     * answers later (a promotion that asks the witness or fences the peer first) is waited for
     * here, on the calling control thread, never on the loop.
     */
    public CommandResult command(Command c) throws InterruptedException, ExecutionException, TimeoutException {
        FirstAnswer first = loop.submit(() -> {
            CompletableFuture<CommandResult> later = pending.expect();
            CommandResult now = onCommand(c);
            if (!now.isPending()) {
                pending.settled(later);
            }
            publish();
            return new FirstAnswer(now, later);
        }).get(COMMAND_ANSWER_SECONDS, TimeUnit.SECONDS);
        if (!first.result().isPending()) {
            return first.result();
        }
        LOG.log(System.Logger.Level.INFO, name + ": " + c + " waits for a decision (at most "
                + TimeUnit.NANOSECONDS.toSeconds(pendingWaitNanos) + " s)");
        return pending.await(first.later(), pendingWaitNanos);
    }

    /** Runs {@code c} on the core, on the loop: a broken core refuses, a core that throws breaks. */
    private CommandResult onCommand(Command c) {
        if (broken != null) {
            return brokenRefusal();
        }
        inCore++;
        try {
            return core.onCommand(c, now());
        } catch (RuntimeException e) {
            broke(e);
            return brokenRefusal();
        } finally {
            inCore--;
        }
    }

    /** The core's answer to a command, and where a pending one's result will arrive. */
    private record FirstAnswer(CommandResult result, CompletableFuture<CommandResult> later) {
    }

    // ---- The front end's requests: hop onto the loop, hand to the core. ----

    /** A read the local disk cannot serve ({@code failedLocally}: it failed it), served by the core. */
    void submitRead(long offset, ByteBuffer dst, boolean failedLocally, IoCallback done) {
        submit(failedLocally ? FrontRequest.Kind.READ_FAILED_LOCALLY : FrontRequest.Kind.READ, offset, dst.remaining(),
                false, dst, done);
    }

    /**
     * Whether reads go through the core to the peer: a Primary that is Diskless, or whose
     * attached disk is still being resynced, holds nothing it could serve itself.
     */
    boolean readsThroughPeer() {
        CoreStatus s = status;
        return s != null && s.role() == io.repl.protocol.Role.PRIMARY
                && (s.disk() == io.repl.protocol.DiskState.DISKLESS || s.disk() == io.repl.protocol.DiskState.INCONSISTENT);
    }

    /** Where the resource closes a disk the core let go of (it runs on the loop, so it must not block). */
    public void onDiskReleased(Consumer<BlockEngine> closer) {
        this.onDiskReleased = closer;
    }

    /** Lets the core resize this node's disk online through {@code r}. */
    public void resizeWith(DiskResizer r) {
        this.resizer = r;
    }

    /** The data size now: the export's size for clients that connect from now on. */
    public long dataBytes() {
        return dataBytes;
    }

    @Override
    public long diskCapacityBytes() {
        DiskResizer r = resizer;
        return r == null || engine == null ? 0 : r.capacityBytes();
    }

    @Override
    public String resizeRefusal(long newBytes) {
        DiskResizer r = resizer;
        if (r == null || engine == null) {
            return "this node's disk cannot be resized online" + (engine == null ? " (it is Diskless)" : "");
        }
        return r.refusal(newBytes);
    }

    /**
     * The metadata moves first when growing, so the disk I/O never reaches past the data the
     * metadata describes; the I/O range shrinks first when shrinking, so nothing reaches the
     * place the metadata moves to.
     */
    @Override
    public Metadata resizeDisk(Metadata current, long newBytes, long[] dirty) throws IOException {
        BlockEngine e = engine;
        if (resizer == null || e == null) {
            throw new IOException("this node's disk cannot be resized online");
        }
        long oldBytes = dataBytes;
        if (newBytes < oldBytes) {
            e.resize(newBytes);
            dataBytes = newBytes;
        }
        Metadata resized;
        try {
            resized = resizer.resize(current, newBytes, dirty);
        } catch (IOException | RuntimeException ex) {
            if (newBytes < oldBytes) {
                e.resize(oldBytes);
                dataBytes = oldBytes;
            }
            throw ex;
        }
        e.resize(newBytes);
        dataBytes = newBytes;
        LOG.log(System.Logger.Level.INFO, name + ": resized from " + oldBytes + " to " + newBytes
                + " bytes; NBD clients see the new size when they connect again");
        return resized;
    }

    /**
     * {@code attach}: the core takes {@code newEngine} and {@code metadata} (opened by the
     * resource on the disk it names) if it is Diskless. On a refusal the caller closes them.
     */
    public CommandResult attach(BlockEngine newEngine, Metadata metadata)
            throws InterruptedException, ExecutionException, TimeoutException {
        return loop.submit(() -> {
            if (engine != null) {
                return CommandResult.refused("the resource has its disk", "detach first");
            }
            engine = newEngine;
            CommandResult r = onCommand(new Command.Attach(metadata));
            if (!r.done()) {
                engine = null;
            }
            publish();
            return r;
        }).get(COMMAND_ANSWER_SECONDS, TimeUnit.SECONDS);
    }

    /** A request from the volume; {@code done} gets 0 or a negative errno. */
    void submit(FrontRequest.Kind kind, long offset, int length, boolean fua, ByteBuffer data, IoCallback done) {
        loop.execute(() -> {
            if (closed) {
                done.complete(-io.repl.io.Errno.ESHUTDOWN);
                return;
            }
            if (broken != null) {
                done.complete(-io.repl.io.Errno.EIO);
                return;
            }
            long id = nextRequestId++;
            requests.put(id, done);
            FrontRequest r;
            switch (kind) {
                case WRITE: r = FrontRequest.write(id, offset, data, fua); break;
                case FLUSH: r = FrontRequest.flush(id); break;
                case ZEROES: r = FrontRequest.zeroes(id, offset, length, fua); break;
                case READ: r = FrontRequest.read(id, offset, data, false); break;
                case READ_FAILED_LOCALLY: r = FrontRequest.read(id, offset, data, true); break;
                default: r = FrontRequest.trim(id, offset, length); break;
            }
            event(() -> core.onRequest(r, now()));
        });
    }

    /** The largest request the core takes at once; the volume splits larger ones. */
    int requestBytesMax() {
        return 1 << 20;
    }

    /** The data disk's engine, or null while Diskless. */
    BlockEngine engine() {
        return engine;
    }

    /** The front end's buffer pool: the first engine's, also while Diskless and after attach. */
    AlignedBuffers buffers() {
        return buffers;
    }

    int alignment() {
        return alignment;
    }

    /**
     * How many disk writes so far had their bytes copied into aligned memory first (a checksum
     * reply's data); a peer's block is written where it arrived, or where it was decompressed.
     * Read on the loop, for tests.
     */
    public long writeCopies() {
        return writeCopies;
    }

    // ---- CoreActions: called by the core, on the loop. ----

    @Override
    public void submitIo(DiskIo io) {
        submitIo(io, 0);
    }

    private void submitIo(DiskIo io, int attempt) {
        long id = io.ioId();
        BlockEngine engine = this.engine;
        if (engine == null) {
            // The core submits nothing once it released its disk: a bug, answered as a disk error.
            LOG.log(System.Logger.Level.ERROR, name + ": BUG: " + io.kind() + " at " + io.offset() + " without a disk");
            back(id, -EIO, null);
            return;
        }
        switch (io.kind()) {
            case READ: {
                // The core reads for a resync or for a read the peer asked for, and the block then
                // waits in the peer link's queue, wrapped, until the socket takes it. It goes there as a heap copy and the
                // aligned buffer back to the pool at once: otherwise every resync read would
                // leave direct memory for the GC, and a long resync (after pull-ahead, a whole
                // Ahead phase of writes) fills MaxDirectMemorySize before it is collected.
                ByteBuffer buf = engine.buffers().acquire(io.length());
                engine.read(io.offset(), buf, retrying(io, attempt, r -> {
                    ByteBuffer copy = r < 0 ? null
                            : ByteBuffer.allocate(buf.remaining()).put(buf.duplicate()).flip();
                    engine.buffers().release(buf);
                    back(id, r, copy);
                }, () -> engine.buffers().release(buf)));
                break;
            }
            case WRITE: {
                ByteBuffer data = io.data();
                // A peer's payload received into a pool buffer is written from it, and the buffer
                // goes back once the disk is done with it (before a retry, it is lent again for
                // the retry to claim).
                ByteBuffer lent = payloads.claim(data);
                ByteBuffer src = lent != null ? data : engineReady(data);
                // A copy made for the engine goes back to the pool once the disk is done with
                // it; otherwise every peer write would allocate direct memory for the GC to free.
                Runnable release = lent != null ? () -> buffers.release(lent)
                        : src != data ? () -> buffers.release(src) : () -> { };
                Runnable beforeRetry = lent != null ? () -> payloads.lend(lent) : release;
                IoCallback then = retrying(io, attempt, r -> {
                    release.run();
                    back(id, r, null);
                }, beforeRetry);
                if (io.fua()) {
                    engine.writeDurable(io.offset(), src, then);
                } else {
                    engine.write(io.offset(), src, then);
                }
                break;
            }
            case FLUSH:
                engine.flush(retrying(io, attempt, r -> back(id, r, null), () -> { }));
                break;
            default:
                IoCallback zeroed = retrying(io, attempt, r -> back(id, r, null), () -> { });
                engine.writeZeroes(io.offset(), io.length(), true, false, io.fua() ? engine.thenFlush(zeroed) : zeroed);
        }
    }

    /**
     * EAGAIN from the engine means "not now" (its queue was full, or the kernel kept refusing),
     * never a failed disk (BlockEngine's contract): the operation is submitted again after a
     * short pause, a few times, before the core hears of it at all.
     */
    private IoCallback retrying(DiskIo io, int attempt, IoCallback done, Runnable beforeRetry) {
        return r -> {
            if (r != -EAGAIN || attempt >= IO_RETRIES_MAX) {
                done.complete(r);
                return;
            }
            beforeRetry.run();
            LOG.log(System.Logger.Level.DEBUG, name + ": " + io.kind() + " at " + io.offset() + " refused for now (EAGAIN); "
                    + "submitting it again");
            long pauseNanos = TimeUnit.MICROSECONDS.toNanos(100L << attempt);
            loop.schedule(() -> {
                if (!closed && broken == null) {
                    submitIo(io, attempt + 1);
                }
            }, pauseNanos, TimeUnit.NANOSECONDS);
        };
    }

    /** Peer payloads not received into the pool (CSUM_REPLY's) are heap buffers; O_DIRECT wants aligned direct memory. */
    private ByteBuffer engineReady(ByteBuffer data) {
        if (data.isDirect() && AlignedBuffers.isAligned(data, alignment)) {
            return data;
        }
        writeCopies++;
        ByteBuffer copy = buffers.acquire(data.remaining());
        copy.put(data.duplicate()).flip();
        return copy;
    }

    /**
     * An engine completion, reported to the core as a new event on the loop: at once when the
     * loop reaped it outside the core's code (the ring's completions, the common case), as a
     * task otherwise. At once spares the loop a pass: with a task queued, the next pass polls
     * its descriptors first, a system call for every batch of completions.
     */
    private void back(long ioId, int result, ByteBuffer readData) {
        Runnable completed = () -> event(() -> core.onIoCompleted(ioId, -result, readData, now()));
        if (loop.inEventLoop() && inCore == 0) {
            completed.run();
        } else {
            loop.execute(completed);
        }
    }

    @Override
    public void send(Message message) {
        PeerSession s = session;
        if (s != null) {
            s.send(ownPayload(message));
        }
    }

    /**
     * Under protocol A the core acknowledges a write as soon as its DATA is handed over, and
     * the front end then recycles the payload buffer, while the frame, encoded by reference,
     * may still wait in the socket's queue. The wire would carry whatever the buffer holds
     * by then (the peer's frame checksum caught exactly that). So under A the DATA travels
     * with its own copy; under B and C the peer has the bytes before the write completes.
     * The copies are bounded: the core admits no write while the session is above its high
     * water mark ({@link #onWritabilityChanged}).
     */
    private Message ownPayload(Message message) {
        if (!copyPayloads || !(message instanceof DataWrite)) {
            return message;
        }
        DataWrite d = (DataWrite) message;
        if (d.data() == null) {
            return d;
        }
        ByteBuffer copy = ByteBuffer.allocate(d.data().remaining());
        copy.put(d.data().duplicate()).flip();
        return new DataWrite(d.seq(), d.offset(), d.length(), d.flags(), copy);
    }

    @Override
    public void completeRequest(long requestId, int errno) {
        IoCallback cb = requests.remove(requestId);
        if (cb == null) {
            throw new IllegalStateException(name + ": the core completed request " + requestId + " twice");
        }
        cb.complete(errno == 0 ? 0 : -Math.abs(errno));
    }

    @Override
    public void closeConnection(DisconnectReason reason, String detail) {
        PeerSession s = session;
        if (s != null) {
            sessionClosing = true;
            s.close(reason, detail);
        } else {
            queue(() -> core.onPeerDisconnected(detail, now()));
        }
    }

    @Override
    public void runSoon() {
        // Called from inside an event: queued, so it runs after the requests and peer messages
        // already handed to the loop (the rest of the burst the batch is for).
        loop.execute(() -> event(() -> core.onSoon(now())));
    }

    @Override
    public void armTimer(long deadlineNanos) {
        if (timer != null) {
            timer.cancel(false);
        }
        long delay = Math.max(0, deadlineNanos - now());
        timer = loop.schedule(() -> event(() -> core.onTimer(now())), delay, TimeUnit.NANOSECONDS);
    }

    @Override
    public void stateChanged(CoreStatus s) {
        CoreStatus before = status;
        status = s;
        if (before == null || !sameStates(before, s)) {
            LOG.log(System.Logger.Level.INFO, name + ": " + s);
        }
        onStatus.accept(s);
        followConnection(s);
    }

    private static boolean sameStates(CoreStatus a, CoreStatus b) {
        return a.role() == b.role() && a.disk() == b.disk() && a.connection() == b.connection()
                && a.replication() == b.replication() && a.peerRole() == b.peerRole() && a.peerDisk() == b.peerDisk();
    }

    /** The link connects while the core wants a connection and stays away while it does not. */
    private void followConnection(CoreStatus s) {
        if (closed) {
            return;
        }
        if (s.connection() == ConnectionState.CONNECTING && link.state() == PeerLink.State.STAND_ALONE) {
            link.connect();
        } else if (s.connection() == ConnectionState.STAND_ALONE && link.state() != PeerLink.State.STAND_ALONE) {
            link.disconnect();
        }
    }

    @Override
    public void runHook(String hook, SortedMap<String, String> env) {
        handlers.run(hook, env);
    }

    /** The handler's exit code reaches the core as an event of its own, on the loop. */
    @Override
    public void fencePeer(long run, SortedMap<String, String> env) {
        handlers.fencePeer(env).thenAccept(a -> queue(() -> core.onFenceResult(run, a.exitCode(), a.output(), now())));
    }

    @Override
    public void diskDetached() {
        BlockEngine released = engine;
        engine = null;
        LOG.log(System.Logger.Level.INFO, name + ": the detached disk is released");
        if (released != null) {
            onDiskReleased.accept(released);
        }
    }

    @Override
    public void commandCompleted(CommandResult result) {
        pending.complete(result);
    }

    @Override
    public void sendToWitness(Message message) {
        WitnessLink w = witness;
        if (w != null) {
            w.send(message);
        }
    }

    /**
     * Runs a core event on the loop as a task of its own, unless the driver has stopped. Safe
     * from any thread, and from inside an action (the event runs after the action returns).
     */
    private void queue(Runnable event) {
        try {
            loop.execute(() -> event(event));
        } catch (RejectedExecutionException e) {
            // The agent is stopping and the loop with it: nobody is left to tell.
            LOG.log(System.Logger.Level.DEBUG, name + ": event dropped at shutdown");
        }
    }

    @Override
    public void log(String level, String message) {
        System.Logger.Level l = "warn".equalsIgnoreCase(level) ? System.Logger.Level.WARNING
                : "error".equalsIgnoreCase(level) ? System.Logger.Level.ERROR
                : "debug".equalsIgnoreCase(level) ? System.Logger.Level.DEBUG : System.Logger.Level.INFO;
        LOG.log(l, name + ": " + message);
    }

    /** One core event, on the loop: skipped once stopped or broken; a throw breaks the driver. */
    private void event(Runnable body) {
        if (closed || broken != null) {
            return;
        }
        inCore++;
        try {
            body.run();
            publish();
        } catch (RuntimeException e) {
            broke(e);
        } finally {
            inCore--;
        }
    }

    /**
     * The core threw: nothing more reaches it. Every open request fails with EIO, the peer
     * connection closes (the peer sees it lost this node without a goodbye), and status shows
     * the disk Failed with the error.
     */
    private void broke(RuntimeException e) {
        broken = e;
        LOG.log(System.Logger.Level.ERROR, name + ": internal error in the replication core; the resource"
                + " stops serving (every open request fails with EIO) until 'replctl down " + name + "' and 'up'", e);
        requests.values().forEach(cb -> cb.complete(-io.repl.io.Errno.EIO));
        requests.clear();
        if (timer != null) {
            timer.cancel(false);
        }
        link.disconnect();
        CoreStatus last = status;
        io.repl.core.replication.FailoverStatus f = last.failover();
        status = new CoreStatus(io.repl.protocol.Role.SECONDARY, io.repl.protocol.DiskState.FAILED,
                ConnectionState.STAND_ALONE, io.repl.core.replication.ReplicationState.OFF, last.peerName(), null, null,
                last.outOfSyncBytes(), null,
                new io.repl.core.replication.FailoverStatus(f.fencing(), "internal error: " + e, now(), null, 0, false,
                        f.witness(), false),
                "internal error");
        onStatus.accept(status);
        pending.abandon(brokenRefusal());
        settleWaiters.forEach(w -> w.complete(null));
        settleWaiters.clear();
    }

    private CommandResult brokenRefusal() {
        return CommandResult.refused("the replication core failed: " + broken,
                "see the agent's log; 'replctl down " + name + "' then 'up' restarts it");
    }

    /** After every event on the loop: the status others read, and any wait it ends. */
    private void publish() {
        status = core.status();
        if (!settleWaiters.isEmpty()) {
            settle();
        }
    }

    private void settle() {
        boolean idle = core.writesIdle();
        String held = idle ? null : status.failover().heldReason();
        if (idle || held != null) {
            settleWaiters.forEach(f -> f.complete(held));
            settleWaiters.clear();
        }
    }

    // ---- PeerLink.Listener: called on the link's loop, which is the core's loop. ----
    //
    // The link may call back synchronously from inside a core action (closing a session ends
    // it at once), so such a callback is queued and runs as an event of its own. A message
    // read from the socket outside the core's code runs at once, unless a callback queued
    // before it has not run yet: callbacks keep their order, as a FIFO of tasks would.

    /** Peer callbacks queued and not yet run; a message may not overtake them. */
    private final AtomicInteger peerQueued = new AtomicInteger();

    /**
     * Runs a peer callback: at once where a message may ({@code mayRunNow}, on the loop, outside
     * the core's code, with nothing queued ahead of it), else as a task behind those queued.
     * At once spares the loop a pass, which would begin with a system call (see {@link #back}).
     */
    private void peerCallback(boolean mayRunNow, Runnable callback) {
        if (mayRunNow && loop.inEventLoop() && inCore == 0 && peerQueued.get() == 0) {
            callback.run();
            return;
        }
        peerQueued.incrementAndGet();
        loop.execute(() -> {
            peerQueued.decrementAndGet();
            callback.run();
        });
    }

    @Override
    public void onConnected(PeerSession s, HandshakeResult r) {
        peerCallback(false, () -> {
            if (closed || broken != null || core.status().connection() != ConnectionState.CONNECTING) {
                s.close("the resource does not want a connection now");
                return;
            }
            session = s;
            sessionClosing = false;
            event(() -> core.onPeerConnected(r.peerNode(), peerNodeId, r.features(), now()));
        });
    }

    @Override
    public void onMessage(PeerSession s, Message m) {
        peerCallback(true, () -> {
            if (s == session && !sessionClosing) {
                event(() -> core.onPeerMessage(m, now()));
            }
        });
    }

    /**
     * The session's outbound buffer crossed a water mark. The core hears the session's
     * writability as it is when the event runs (two crossings queued behind each other report
     * the latest twice, which the core takes as one).
     */
    @Override
    public void onWritabilityChanged(PeerSession s, boolean writable) {
        peerCallback(false, () -> {
            if (s == session && !sessionClosing) {
                event(() -> core.onPeerWritable(s.isWritable(), now()));
            }
        });
    }

    /** The peer's blocks are received into the disk's pool, so the disk writes them as they are. */
    @Override
    public PayloadBuffers payloadBuffers() {
        return new PayloadBuffers() {
            @Override
            public ByteBuffer acquire(int bytes) {
                return buffers.acquire(bytes);
            }

            @Override
            public void release(ByteBuffer buffer) {
                buffers.release(buffer);
            }

            @Override
            public void lend(ByteBuffer buffer) {
                payloads.lend(buffer);
            }
        };
    }

    @Override
    public void onDisconnected(PeerSession s, String reason) {
        peerCallback(false, () -> {
            if (s != session) {
                return;
            }
            session = null;
            // Unclaimed payloads are forgotten with the session: resync blocks not started are
            // dropped, and DATA already received, still written, goes from its buffer to the GC.
            payloads.clear();
            sessionClosing = false;
            if (!closed && broken == null) {
                LOG.log(System.Logger.Level.INFO, name + ": peer connection ended: " + reason);
                event(() -> core.onPeerDisconnected(reason, now()));
                followConnection(status);
            }
        });
    }

    // ---- WitnessLink.Listener: called on the link's loop, which is the core's loop. ----

    /** Like the peer link's callbacks, each is queued: the link may call back from inside send. */
    private final class WitnessEvents implements WitnessLink.Listener {
        @Override
        public void onConnected() {
            queue(() -> core.onWitnessConnected(now()));
        }

        @Override
        public void onMessage(Message m) {
            queue(() -> core.onWitnessMessage(m, now()));
        }

        @Override
        public void onDisconnected(String reason) {
            LOG.log(System.Logger.Level.DEBUG, name + ": witness connection ended: " + reason);
            queue(() -> core.onWitnessDisconnected(now()));
        }
    }

    /**
     * Stops: the peer link closes, requests still waiting are failed, the timer stops. The
     * caller flushes and closes the engine and the metadata afterwards.
     */
    public void close() {
        try {
            link.disconnect().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.log(System.Logger.Level.WARNING, name + ": peer link did not close cleanly: " + e);
        }
        try {
            loop.submit(() -> {
                closed = true;
                if (timer != null) {
                    timer.cancel(false);
                }
                requests.values().forEach(cb -> cb.complete(-io.repl.io.Errno.ESHUTDOWN));
                requests.clear();
            }).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.log(System.Logger.Level.WARNING, name + ": core loop did not stop cleanly: " + e);
        }
        if (witness != null) {
            witness.close();
        }
        link.close();
    }

    /** Whether the core has nothing in flight (disk, peer, resync). */
    public boolean idle() throws InterruptedException, ExecutionException, TimeoutException {
        return loop.submit(() -> broken == null && core.idle()).get(30, TimeUnit.SECONDS);
    }

    /**
     * Completes, on the event that brings it about, once every accepted write has finished and
     * every write from the peer is applied (with null), or once writes are held, which cannot
     * finish without the peer (with why they are held).
     */
    public CompletableFuture<String> whenWritesSettle() {
        CompletableFuture<String> settled = new CompletableFuture<>();
        loop.execute(() -> {
            if (broken != null) {
                settled.complete(null);
                return;
            }
            settleWaiters.add(settled);
            publish();
        });
        return settled;
    }
}
