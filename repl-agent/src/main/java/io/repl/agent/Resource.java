package io.repl.agent;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoop;
import io.repl.agent.io.NettyEngineLoop;
import io.repl.agent.config.ConfigException;
import io.repl.agent.config.NodeConfig;
import io.repl.agent.config.ResourceConfig;
import io.repl.agent.meta.FileMetaDevice;
import io.repl.agent.meta.MetaLocator;
import io.repl.agent.meta.MetaResize;
import io.repl.agent.meta.MetaCommands;
import io.repl.agent.meta.MetaPlan;
import io.repl.agent.nbd.Export;
import io.repl.agent.peer.PeerLinkConfig;
import io.repl.agent.replication.CoreDriver;
import io.repl.agent.replication.ReplicatedVolume;
import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.SyncProgress;
import io.repl.agent.events.Event;
import io.repl.agent.events.EventSink;
import io.repl.agent.events.StateEvents;
import io.repl.hooks.HookRunner;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import io.repl.agent.nbd.NbdServer;
import io.repl.agent.nbd.NbdSession;
import io.repl.agent.volume.LocalVolume;
import io.repl.agent.volume.ReadGate;
import io.repl.agent.volume.SubBlockVolume;
import io.repl.agent.volume.Volume;
import io.repl.io.Backing;
import io.repl.io.BlockEngine;
import io.repl.io.Engines;
import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.MetadataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One resource on this node: its disk, its volume and its NBD export.
 *
 * <p>State changes (up, down) are serialised by the agent's control thread; the NBD event
 * loops only read the current volume through {@link #open()}.
 */
public final class Resource implements Export {
    private static final System.Logger LOG = System.getLogger(Resource.class.getName());
    /** How long an orderly stop lets writes in flight finish before it says goodbye anyway. */
    private static final long DRAIN_NANOS_MAX = TimeUnit.SECONDS.toNanos(10);

    private final String name;
    private final String nodeName;
    private final EventLoopGroup group;
    private final Set<NbdSession> sessions = ConcurrentHashMap.newKeySet();
    private volatile ResourceConfig config;
    private volatile String configError;
    private volatile BlockEngine engine;
    private volatile Volume volume;
    /** What read-only clients read: {@link #volume} behind {@link #readGate}; null when standalone. */
    private volatile Volume readOnlyVolume;
    /** Open while this node's disk is UpToDate; null when standalone. Used on the resource's loop. */
    private volatile ReadGate readGate;
    private volatile NbdServer nbd;
    private volatile String lastError;
    private DiskLock diskLock;
    private volatile MetaPlan metaPlan;
    private volatile FileMetaDevice metaDevice;
    /** Where an online resize records the place of internal metadata. */
    private final MetaLocator locator;
    private volatile Metadata metadata;
    private volatile CoreDriver driver;

    private final HookRunner hooks;
    private final EventSink events;
    /** Journals this resource's state changes and sync progress; null while down. */
    private volatile StateEvents stateEvents;
    private volatile java.util.concurrent.ScheduledFuture<?> progressSampler;
    /** What the export's clients asked for, kept across down and up. */
    private final io.repl.agent.nbd.NbdCounters nbdCounters = new io.repl.agent.nbd.NbdCounters();
    /** RUN_DIR/NAME.state, for the OCF resource agent; writes nothing without a run directory. */
    private volatile StateFile stateFile;

    Resource(String name, String nodeName, EventLoopGroup group, HookRunner hooks, Path stateDir) {
        this(name, nodeName, group, hooks, stateDir, EventSink.NONE);
    }

    Resource(String name, String nodeName, EventLoopGroup group, HookRunner hooks, Path stateDir, EventSink events) {
        this.events = events;
        this.locator = MetaLocator.in(stateDir, name);
        this.name = name;
        this.nodeName = nodeName;
        this.group = group;
        this.hooks = hooks;
        this.stateFile = new StateFile(null, name);
    }

    /** Keeps {@code runDir/NAME.state} up to date from now on (null: no state file). */
    Resource publishStateTo(Path runDir) {
        stateFile = new StateFile(runDir, name);
        return this;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public io.repl.agent.nbd.NbdCounters counters() {
        return nbdCounters;
    }

    /** For metrics: the replication core's driver, null when down or standalone. */
    CoreDriver driver() {
        return driver;
    }

    /** For metrics: the open metadata, null when down or without any. */
    Metadata metadata() {
        return metadata;
    }

    /** For metrics: the open metadata device, null when down or without metadata. */
    FileMetaDevice metaDevice() {
        return metaDevice;
    }

    /** Installs a freshly read config, or the reason it could not be read. */
    void configure(ResourceConfig c, String error) {
        this.config = c;
        this.configError = error;
    }

    boolean isUp() {
        return volume != null;
    }

    /**
     * Attaches the disk and starts the export.
     *
     * @throws StateChangeRefused with the reason, leaving the resource down
     */
    synchronized void up() throws StateChangeRefused {
        if (isUp()) {
            return;
        }
        if (config == null) {
            stateFile.down("config not usable: " + configError);
            throw new StateChangeRefused(name + ": config not usable: " + configError);
        }
        NodeConfig me;
        try {
            me = config.local(nodeName);
        } catch (ConfigException e) {
            stateFile.down(e.getMessage());
            throw new StateChangeRefused(e.getMessage());
        }
        BlockEngine e = null;
        try {
            Backing b = Backing.probe(me.disk());
            MetaPlan plan = MetaPlan.of(config, me, b);
            // Held until down: the disk, and an external meta-disk, are this agent's alone meanwhile.
            diskLock = DiskLock.acquire(name, me.disk(), plan.externalFile());
            openMetadata(plan);
            // The metadata's size, which an online resize may have set below what the disk offers.
            long size = metaPlan.dataBytes();
            // One event loop carries this resource's NBD sessions, its engine's completions,
            // its replication core and its peer link, so a request never changes threads.
            IoEventLoop home = (IoEventLoop) group.next();
            e = Engines.open(b, size, config.disk().ioEngine(), new NettyEngineLoop(home));
            LOG.log(System.Logger.Level.INFO, name + ": I/O engine " + e.name() + (e.direct() ? " (O_DIRECT)" : " (buffered)")
                    + " on " + b);
            engine = e;
            if (config.standalone()) {
                volume = new SubBlockVolume(new LocalVolume(e));
            } else {
                ReadGate gate = new ReadGate(home);
                readGate = gate;
                StateEvents journal = new StateEvents(name, events, Clock.systemUTC());
                stateEvents = journal;
                StateFile sf = stateFile;
                driver = startDriver(e, home, s -> {
                    journal.onStatus(s);
                    diskState(gate, home, s);
                    sf.update(s);
                });
                progressSampler = home.scheduleAtFixedRate(this::sampleProgress, 1, 1, TimeUnit.SECONDS);
                driver.onDiskReleased(this::releaseDetached);
                offerResize(driver, me);
                volume = new SubBlockVolume(new ReplicatedVolume(driver));
                readOnlyVolume = gate.readOnly(volume);
            }
            nbd = NbdServer.start(group, home, this, me.nbdSocket(), me.nbdListen());
        } catch (IOException | RuntimeException ex) {
            volume = null;
            readOnlyVolume = null;
            readGate = null;
            engine = null;
            stopDriver();
            if (e != null) {
                e.close();
            }
            closeMetadata(false);
            releaseDiskLock();
            lastError = ex.getMessage();
            stateFile.down("cannot come up: " + ex.getMessage());
            throw new StateChangeRefused(name + ": cannot come up: " + ex.getMessage());
        }
        lastError = null;
        if (config.standalone()) {
            stateFile.standalone();
            LOG.log(System.Logger.Level.INFO, name + ": disk Diskless -> UpToDate, role Secondary -> Primary"
                    + " (standalone: no peer configured)");
        } else {
            CoreStatus now = driver.status();
            // Written before up returns: a resource agent's monitor right after its start must
            // not read the file a killed agent left behind.
            stateFile.update(now);
            LOG.log(System.Logger.Level.INFO, name + ": attached, " + now);
        }
    }

    private CoreDriver startDriver(BlockEngine e, EventLoop home, java.util.function.Consumer<CoreStatus> onStatus)
            throws IOException {
        try {
            PeerLinkConfig link = PeerLinkConfig.from(config, nodeName);
            String peer = config.peerOf(nodeName).orElseThrow().name();
            int peerId = config.nodeId(peer);
            return CoreDriver.start(name, home, e, metadata, config, link, peerId, hooks, onStatus);
        } catch (ConfigException ex) {
            throw new IOException(ex.getMessage(), ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting the replication core", ex);
        } catch (java.util.concurrent.ExecutionException ex) {
            throw new IOException("the replication core did not start: " + ex.getCause(), ex.getCause());
        }
    }

    /**
     * Every state change the core publishes, on the resource's loop, before anything else runs
     * there. A disk that leaves UpToDate shuts the read gate at once (reads in flight then end
     * in EIO) and its read-only clients are dropped right after: they may hold nothing the
     * disk does not vouch for. They can connect again once the disk is UpToDate.
     */
    private void diskState(ReadGate gate, EventLoop home, CoreStatus s) {
        if (!gate.update(s.disk() == DiskState.UP_TO_DATE)) {
            return;
        }
        // Not from inside the core's event: closing a channel runs its handlers right away.
        home.execute(() -> {
            int n = 0;
            for (NbdSession c : sessions) {
                if (c.readOnly()) {
                    c.close();
                    n++;
                }
            }
            if (n > 0) {
                LOG.log(System.Logger.Level.INFO, name + ": disk " + s.disk().displayName() + ", no longer UpToDate: "
                        + n + " read-only client(s) cut off; they may connect again once it is UpToDate");
            }
        });
    }

    /** Released by the core once Diskless; attach waits for it before opening the disk again. */
    private volatile CompletableFuture<Void> detachedReleased = CompletableFuture.completedFuture(null);

    /**
     * The core went Diskless and let go of its disk: close the engine (no flush, the disk no
     * longer counts), the metadata device and the disk's lock, off the resource's loop (which
     * called this, and which the engine's close may need).
     */
    private void releaseDetached(BlockEngine released) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        detachedReleased = done;
        Thread t = new Thread(() -> {
            try {
                synchronized (this) {
                    if (engine == released) {
                        engine = null;
                    }
                    try {
                        released.close();
                    } catch (RuntimeException ex) {
                        LOG.log(System.Logger.Level.WARNING, name + ": closing the detached disk's engine: " + ex, ex);
                    }
                    closeMetadata(false);
                    releaseDiskLock();
                    LOG.log(System.Logger.Level.INFO, name + ": disk detached and released; 'replctl attach " + name
                            + "' gives it back");
                }
            } finally {
                done.complete(null);
            }
        }, name + "-detach");
        t.setDaemon(true);
        t.start();
    }

    /**
     * {@code attach}: opens the disk, its lock and its metadata as {@code up} does, and gives
     * them to the core, which resyncs the disk in full from the peer.
     */
    Map<String, Object> attach() throws StateChangeRefused {
        // Outside the lock: the thread that releases the detached disk takes it.
        try {
            detachedReleased.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new StateChangeRefused(name + ": interrupted");
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException ex) {
            throw new StateChangeRefused(name + ": the detached disk is still being released; retry");
        }
        synchronized (this) {
            return attachReleased();
        }
    }

    private Map<String, Object> attachReleased() throws StateChangeRefused {
        CoreDriver d = driver;
        if (d == null) {
            throw new StateChangeRefused(name + (config != null && config.standalone()
                    ? " is a standalone resource: it has no peer to serve while its disk is away"
                    : " is down; run 'replctl up " + name + "'"));
        }
        if (d.status().disk() != DiskState.DISKLESS || engine != null) {
            throw new StateChangeRefused(name + ": the disk is " + d.status().disk().displayName()
                    + (engine != null ? " and not yet released" : "") + "; only a Diskless resource attaches one");
        }
        BlockEngine e = null;
        boolean attached = false;
        try {
            NodeConfig me = config.local(nodeName);
            Backing b = Backing.probe(me.disk());
            MetaPlan plan = MetaPlan.of(config, me, b);
            diskLock = DiskLock.acquire(name, me.disk(), plan.externalFile());
            openMetadata(plan);
            e = Engines.open(b, metaPlan.dataBytes(), config.disk().ioEngine(),
                    new NettyEngineLoop((IoEventLoop) d.loop()));
            CommandResult r = d.attach(e, metadata);
            if (!r.done()) {
                throw new StateChangeRefused(name + ": " + r.reason() + (r.nextStep().isEmpty() ? "" : "; " + r.nextStep()),
                        r.exitCode());
            }
            engine = e;
            attached = true;
            offerResize(d, me);
            LOG.log(System.Logger.Level.INFO, name + ": attached " + me.disk() + "; resyncing it from the peer");
        } catch (IOException | ConfigException ex) {
            throw new StateChangeRefused(name + ": cannot attach: " + ex.getMessage());
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new StateChangeRefused(name + ": interrupted");
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException ex) {
            throw new StateChangeRefused(name + ": attach failed: " + ex);
        } finally {
            if (!attached) {
                if (e != null) {
                    e.close();
                }
                closeMetadata(false);
                releaseDiskLock();
            }
        }
        return status();
    }

    /** Lets the core resize this node's disk online (not with meta-disk "none" or a fixed disk.size). */
    private void offerResize(CoreDriver d, NodeConfig me) {
        MetaPlan plan = metaPlan;
        if (plan.none() || config.disk().sizeBytes() != 0) {
            return;
        }
        d.resizeWith(metaResize(me.disk()));
    }

    private MetaResize metaResize(Path disk) {
        return new MetaResize(disk, metaPlan, metaDevice, locator, this::resized);
    }

    /** A resize committed (on the resource's loop): down and dump-md use the new metadata from now on. */
    private void resized(MetaPlan plan, FileMetaDevice device, Metadata md) {
        metaPlan = plan;
        metaDevice = device;
        metadata = md;
    }

    /**
     * {@code resize}: both disks of a connected pair take a new size (the core's Resize); a
     * standalone resource resizes alone. Refused while {@code [disk] size} fixes the size.
     */
    synchronized Map<String, Object> resize(long sizeBytes, boolean force, boolean assumeClean)
            throws StateChangeRefused {
        if (config != null && config.disk().sizeBytes() != 0) {
            throw new StateChangeRefused(name + ": [disk] size fixes the size in " + config.file()
                    + "; remove it on both nodes (the size then follows the backing devices) and run up, then resize");
        }
        if (metaPlan != null && metaPlan.none()) {
            throw new StateChangeRefused(name + ": meta-disk is \"none\": without a bitmap there is no online resize");
        }
        if (config != null && config.standalone() && isUp()) {
            return resizeStandalone(sizeBytes, force);
        }
        return command(new Command.Resize(sizeBytes, force, assumeClean), "resize");
    }

    /** A resource without a peer: its metadata and I/O range take the new size, nothing to sync. */
    private Map<String, Object> resizeStandalone(long sizeBytes, boolean force) throws StateChangeRefused {
        BlockEngine e = engine;
        Path disk;
        try {
            disk = config.local(nodeName).disk();
        } catch (ConfigException ex) {
            throw new StateChangeRefused(ex.getMessage());
        }
        MetaResize r = metaResize(disk);
        long current = metaPlan.dataBytes();
        long capacity = r.capacityBytes();
        io.repl.core.replication.Resize.Outcome o = io.repl.core.replication.Resize.newSize(current, capacity,
                capacity, sizeBytes, force, "this node");
        String refused = o.refusal() != null ? o.refusal() : o.sizeBytes() == current ? null : r.refusal(o.sizeBytes());
        if (refused != null) {
            throw new StateChangeRefused(name + ": " + refused);
        }
        if (o.sizeBytes() != current) {
            try {
                if (o.sizeBytes() < current) {
                    e.resize(o.sizeBytes());
                }
                r.resize(metadata, o.sizeBytes(), new long[0]);
                e.resize(o.sizeBytes());
            } catch (IOException ex) {
                e.resize(current);
                throw new StateChangeRefused(name + ": resize failed: " + ex.getMessage());
            }
            LOG.log(System.Logger.Level.INFO, name + ": resized from " + current + " to " + o.sizeBytes() + " bytes");
        }
        return status();
    }

    /** On the resource's loop, once a second: a running sync's progress, at the journal's pace. */
    private void sampleProgress() {
        CoreDriver d = driver;
        StateEvents se = stateEvents;
        if (d != null && se != null) {
            se.sample(d.status(), System.nanoTime());
        }
    }

    private void stopDriver() {
        java.util.concurrent.ScheduledFuture<?> sampler = progressSampler;
        progressSampler = null;
        if (sampler != null) {
            sampler.cancel(false);
        }
        CoreDriver d = driver;
        driver = null;
        if (d != null) {
            d.close();
        }
    }

    /**
     * {@code adjust}: applies the changes of {@code next} (the file as it is now) that are safe
     * on a running resource, or refuses, changing nothing, when any change needs down and up.
     * A resource that is down just takes the file; up applies it.
     */
    synchronized Map<String, Object> adjust(ResourceConfig next) throws StateChangeRefused {
        ResourceConfig was = config;
        if (!isUp() || was == null) {
            configure(next, null);
            Map<String, Object> m = new LinkedHashMap<>(status());
            m.put("adjusted", java.util.List.of());
            m.put("note", name + " is down: 'replctl up " + name + "' applies the whole file");
            return m;
        }
        io.repl.agent.config.ConfigChanges changes = io.repl.agent.config.ConfigChanges.between(was, next);
        if (!changes.restart().isEmpty()) {
            throw new StateChangeRefused(name + ": " + String.join("; ", changes.restart()) + (changes.restart().size()
                    == 1 ? " needs" : " need") + " 'replctl down " + name + "' and 'replctl up " + name
                    + "'; nothing was changed" + (changes.live().isEmpty() ? ""
                    : " (adjust would apply: " + String.join("; ", changes.live()) + ")"));
        }
        CoreDriver d = driver;
        if (d != null && !changes.live().isEmpty()) {
            try {
                CommandResult r = d.adjust(next);
                if (!r.done()) {
                    throw new StateChangeRefused(name + ": " + r.reason(), r.exitCode());
                }
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new StateChangeRefused(name + ": interrupted");
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException ex) {
                throw new StateChangeRefused(name + ": adjust failed: " + ex);
            }
        }
        configure(next, null);
        if (!changes.live().isEmpty()) {
            LOG.log(System.Logger.Level.INFO, name + ": adjusted " + String.join("; ", changes.live()));
        }
        Map<String, Object> m = new LinkedHashMap<>(status());
        m.put("adjusted", changes.live());
        return m;
    }

    /** Runs an operator command on the replication core. */
    synchronized Map<String, Object> command(Command c, String verb) throws StateChangeRefused {
        CoreDriver d = driver;
        if (d == null) {
            if (config != null && config.standalone()) {
                throw new StateChangeRefused(name + " is a standalone resource (one [node] section): it is always "
                        + "Primary and has no peer; '" + verb + "' does not apply");
            }
            throw new StateChangeRefused(name + " is down; run 'replctl up " + name + "' first");
        }
        journalCommand("call", verb, c, Map.of());
        try {
            Map<String, Object> done = runCommand(d, c, verb);
            journalCommand("response", verb, c, Map.of("exit", "0"));
            return done;
        } catch (StateChangeRefused ex) {
            journalCommand("response", verb, c, Map.of("exit", Integer.toString(ex.exitCode()), "reason", ex.getMessage()));
            throw ex;
        }
    }

    private Map<String, Object> runCommand(CoreDriver d, Command c, String verb) throws StateChangeRefused {
        RoleActions roles = new RoleActions(name, nodeName, config, hooks);
        CoreStatus before = d.status();
        if (c instanceof Command.Primary p && before.role() != Role.PRIMARY) {
            String refused = roles.beforePromote(before, p.force());
            if (refused != null) {
                throw new StateChangeRefused(name + ": " + refused, StateChangeRefused.REFUSED);
            }
        }
        if (c instanceof Command.Secondary sc) {
            if (before.role() == Role.PRIMARY) {
                if (frozen) {
                    throw new StateChangeRefused(name + ": the file system is frozen (replctl freeze); run 'replctl "
                            + "thaw " + name + "' first", StateChangeRefused.REFUSED);
                }
                String refused = roles.beforeDemote(before, sc.force());
                if (refused != null) {
                    throw new StateChangeRefused(name + ": " + refused, StateChangeRefused.REFUSED);
                }
                if (roles.mounts()) {
                    awaitWritersGone();
                }
            }
            boolean writers = sessions.stream().anyMatch(s -> !s.readOnly());
            c = new Command.Secondary(sc.force(), writers);
        }
        CommandResult r;
        try {
            r = d.command(c);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new StateChangeRefused(name + ": interrupted");
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException ex) {
            throw new StateChangeRefused(name + ": " + verb + " failed: " + ex);
        }
        if (!r.done()) {
            throw new StateChangeRefused(name + ": " + r.reason() + (r.nextStep().isEmpty() ? "" : "; " + r.nextStep()),
                    r.exitCode());
        }
        if (c instanceof Command.Secondary) {
            // A demoted node serves read-only: clients that could write must reconnect.
            sessions.stream().filter(s -> !s.readOnly()).forEach(NbdSession::close);
        }
        if (c instanceof Command.Primary && before.role() != Role.PRIMARY) {
            String failed = roles.afterPromote(d.status());
            if (failed != null) {
                throw new StateChangeRefused(name + " is Primary, but the built-in mount failed: " + failed
                        + "; it stays Primary (demote it, or fix and mount by hand)", StateChangeRefused.REFUSED);
            }
        }
        return status();
    }

    /**
     * After the built-in unmount and detach, the NBD client's goodbye reaches this agent a
     * moment later: waits (briefly) for the read-write sessions to end, so that the demotion
     * does not count a client that has already let go.
     */
    private void awaitWritersGone() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (sessions.stream().anyMatch(s -> !s.readOnly()) && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Set by {@code replctl freeze} until {@code thaw}: a frozen mount cannot be unmounted. */
    private volatile boolean frozen;

    /**
     * {@code replctl freeze} / {@code thaw}: the built-in mount's file system flushes and holds
     * new writes (fsfreeze), e.g. while the peer's disk is snapshotted; only on a Primary.
     */
    synchronized Map<String, Object> freeze(boolean freeze) throws StateChangeRefused {
        String verb = freeze ? "freeze" : "thaw";
        CoreDriver d = driver;
        if (d == null || d.status().role() != Role.PRIMARY) {
            throw new StateChangeRefused(name + ": " + verb + " needs a Primary with its built-in mount; this node is "
                    + (d == null ? "down or standalone" : d.status().role().displayName()));
        }
        journalCommand("call", verb, null, Map.of());
        String failed = new RoleActions(name, nodeName, config, hooks).freeze(d.status(), freeze);
        if (failed != null) {
            StateChangeRefused refused = new StateChangeRefused(name + ": " + verb + " refused: " + failed);
            journalCommand("response", verb, null, Map.of("exit", "11", "reason", refused.getMessage()));
            throw refused;
        }
        frozen = freeze;
        journalCommand("response", verb, null, Map.of("exit", "0"));
        return status();
    }

    /** {@code call command} / {@code response command} in the event journal. */
    private void journalCommand(String verb, String command, Command c, Map<String, String> more) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("command", command);
        if (c instanceof Command.Primary p) {
            f.put("force", p.force() ? "yes" : "no");
        } else if (c instanceof Command.Secondary sc) {
            f.put("force", sc.force() ? "yes" : "no");
        }
        f.putAll(more);
        events.publish(new Event(java.time.Instant.now(), verb, "command", name, f));
    }

    /**
     * Stops the export, drops its clients, lets the writes in flight finish, says goodbye to
     * the peer (docs/FAILOVER.md, section 2), then flushes and releases the disk. SIGTERM
     * comes here too. Whatever fails on the way, the disk and its lock are released and the
     * resource ends down; the metadata is marked clean only when nothing was left in flight,
     * the final flush succeeded and the disk had not failed, so that otherwise the next start
     * recovers as after a crash.
     */
    synchronized void down() {
        if (!isUp()) {
            return;
        }
        volume = null;
        readOnlyVolume = null;
        readGate = null;
        String was = "role Primary, disk UpToDate";
        boolean clean = true;
        try {
            if (nbd != null) {
                nbd.close();
                nbd = null;
            }
            for (NbdSession s : sessions) {
                s.close();
            }
            CoreDriver d = driver;
            if (d != null) {
                was = "role " + d.status().role().displayName() + ", disk " + d.status().disk().displayName();
                drain(d);
                sayGoodbye(d);
                clean = quiet(d);
            }
        } catch (RuntimeException ex) {
            clean = false;
            LOG.log(System.Logger.Level.WARNING, name + ": stopping the export and the core: " + ex, ex);
        } finally {
            try {
                stopDriver();
            } catch (RuntimeException ex) {
                clean = false;
                LOG.log(System.Logger.Level.WARNING, name + ": stopping the core: " + ex, ex);
            }
            clean &= releaseEngine();
            closeMetadata(clean);
            releaseDiskLock();
        }
        stateFile.down("taken down (was " + was + ")");
        LOG.log(System.Logger.Level.INFO, name + ": down (was " + was + "), disk Diskless"
                + (clean ? "" : "; the next start recovers as after a crash"));
    }

    /** Whether the core has nothing in flight and its disk has not failed: a clean stop. */
    private boolean quiet(CoreDriver d) {
        try {
            if (d.status().disk() == DiskState.FAILED) {
                return false;
            }
            if (!d.idle()) {
                LOG.log(System.Logger.Level.WARNING, name + ": disk operations still in flight at down: " + d.status());
                return false;
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.log(System.Logger.Level.WARNING, name + ": could not see whether the core was idle: " + e);
            return false;
        }
    }

    /** Flushes and closes the engine; true if the final flush succeeded. */
    private boolean releaseEngine() {
        BlockEngine e = engine;
        engine = null;
        if (e == null) {
            return false;
        }
        boolean flushedOk = false;
        try {
            CompletableFuture<Integer> flushed = new CompletableFuture<>();
            e.flush(flushed::complete);
            int r = flushed.get(30, TimeUnit.SECONDS);
            flushedOk = r == 0;
            if (!flushedOk) {
                LOG.log(System.Logger.Level.WARNING, name + ": final flush failed: " + io.repl.io.Errno.name(r));
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        } catch (Exception ex) {
            LOG.log(System.Logger.Level.WARNING, name + ": final flush did not finish: " + ex);
        } finally {
            try {
                e.close();
            } catch (RuntimeException ex) {
                flushedOk = false;
                LOG.log(System.Logger.Level.WARNING, name + ": closing the I/O engine: " + ex, ex);
            }
        }
        return flushedOk;
    }

    /**
     * Waits until the writes already accepted have finished, so that the goodbye follows the
     * last write this node acknowledged. Held writes cannot finish without the peer: the
     * goodbye fails them instead, unacknowledged.
     */
    private void drain(CoreDriver d) {
        try {
            String held = d.whenWritesSettle().get(DRAIN_NANOS_MAX, TimeUnit.NANOSECONDS);
            if (held != null) {
                LOG.log(System.Logger.Level.WARNING, name + ": going down with writes held (" + held
                        + "); they fail unacknowledged");
            }
        } catch (java.util.concurrent.TimeoutException e) {
            LOG.log(System.Logger.Level.WARNING, name + ": writes still in flight after "
                    + TimeUnit.NANOSECONDS.toSeconds(DRAIN_NANOS_MAX) + " s; going down anyway (" + d.status() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException e) {
            LOG.log(System.Logger.Level.WARNING, name + ": could not see whether writes drained: " + e);
        }
    }

    /** The core demotes a Primary, sends its goodbye STATE and closes the peer connection. */
    private void sayGoodbye(CoreDriver d) {
        try {
            CommandResult r = d.command(new Command.Down());
            if (!r.done()) {
                LOG.log(System.Logger.Level.WARNING, name + ": no goodbye: " + r.reason());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.log(System.Logger.Level.WARNING, name + ": no goodbye: " + e);
        }
    }

    /** Opens and recovers this node's metadata, unless the resource runs without any. */
    private void openMetadata(MetaPlan configured) throws IOException {
        MetaPlan plan = locator.locate(configured);
        metaPlan = plan;
        if (plan.none()) {
            return;
        }
        FileMetaDevice dev = plan.openDevice();
        try {
            metadata = Metadata.open(dev, plan.layout(), nodeName);
        } catch (MetadataException ex) {
            dev.close();
            throw new IOException("no usable metadata on " + dev + ": " + ex.getMessage()
                    + "; for a new disk run 'replctl create-md " + name + "'");
        } catch (IOException | RuntimeException ex) {
            dev.close();
            throw ex;
        }
        metaDevice = dev;
        if (plan.layout().placement() == io.repl.core.metadata.MetaPlacement.INTERNAL) {
            // Found again after the backing device grows, before a resize moved the metadata.
            locator.recordIfNew(plan.dataBytes());
        }
        LOG.log(System.Logger.Level.INFO, name + ": metadata " + plan.layout().placement().name().toLowerCase(Locale.ROOT)
                + " on " + dev + ", generation " + String.format("%016X", metadata.superblock().uuids().current())
                + ", " + metadata.bitmap().dirtyBytes() + " bytes marked out of sync");
    }

    private void closeMetadata(boolean clean) {
        if (metadata != null && clean) {
            try {
                metadata.closeClean();
            } catch (IOException ex) {
                LOG.log(System.Logger.Level.WARNING, name + ": could not mark the metadata clean: " + ex.getMessage());
            }
        }
        metadata = null;
        if (metaDevice != null) {
            try {
                metaDevice.close();
            } catch (IOException ex) {
                LOG.log(System.Logger.Level.WARNING, name + ": closing metadata: " + ex.getMessage());
            }
            metaDevice = null;
        }
    }

    /** This node's plan for metadata, worked out fresh from the config and the disk. */
    private MetaPlan plan() throws StateChangeRefused {
        if (config == null) {
            throw new StateChangeRefused(name + ": config not usable: " + configError);
        }
        try {
            NodeConfig me = config.local(nodeName);
            return MetaPlan.of(config, me, Backing.probe(me.disk()));
        } catch (ConfigException | IOException ex) {
            throw new StateChangeRefused(name + ": " + ex.getMessage());
        }
    }

    /** create-md: fresh metadata on a resource that is down. */
    synchronized Map<String, Object> createMd(boolean force) throws StateChangeRefused {
        if (isUp()) {
            throw new StateChangeRefused(name + " is up; run 'replctl down " + name + "' before create-md");
        }
        MetaPlan plan = plan();
        if (plan.none()) {
            throw new StateChangeRefused(name + ": meta-disk is \"none\" in " + config.file() + "; nothing to create");
        }
        int nodeId = config.nodeId(nodeName);
        try (DiskLock lock = lockForCreateMd(plan)) {
            Map<String, Object> md = MetaCommands.create(plan, nodeId, nodeName, force);
            locator.forget();
            LOG.log(System.Logger.Level.INFO, name + ": created metadata: " + md);
            return md;
        } catch (MetaCommands.Exists ex) {
            throw new StateChangeRefused(name + ": " + ex.getMessage());
        } catch (ConfigException | IOException | RuntimeException ex) {
            throw new StateChangeRefused(name + ": create-md failed: " + ex.getMessage());
        }
    }

    /** Claims the disk and the meta-disk, creating an external meta-disk file that is not there yet. */
    private DiskLock lockForCreateMd(MetaPlan plan) throws ConfigException, IOException {
        Path meta = plan.externalFile();
        if (meta != null && !Files.exists(meta)) {
            // Nothing can hold a file that does not exist yet; it must exist to be locked.
            plan.prepareExternalFile();
        }
        return DiskLock.acquire(name, config.local(nodeName).disk(), meta);
    }

    /** dump-md: the metadata as stored, read without writing. */
    synchronized Map<String, Object> dumpMd() throws StateChangeRefused {
        if (metadata != null) {
            return MetaCommands.describe(metadata.superblock(), metadata.bitmap(), null);
        }
        MetaPlan plan = plan();
        if (plan.none()) {
            throw new StateChangeRefused(name + ": meta-disk is \"none\" in " + config.file() + "; there is no metadata");
        }
        try {
            return MetaCommands.dump(locator.locate(plan));
        } catch (MetadataException | IOException ex) {
            throw new StateChangeRefused(name + ": cannot read metadata: " + ex.getMessage()
                    + "; for a new disk run 'replctl create-md " + name + "'");
        }
    }

    private void releaseDiskLock() {
        if (diskLock != null) {
            diskLock.close();
            diskLock = null;
        }
    }

    @Override
    public Grant open() {
        Volume v = volume;
        if (v == null) {
            return Grant.refused("the resource is down (disk Diskless); run 'replctl up " + name + "'");
        }
        CoreDriver d = driver;
        if (d == null) {
            return Grant.readWrite(v);
        }
        CoreStatus s = d.status();
        if (s.role() == Role.PRIMARY && s.failover().promotionPending()) {
            return Grant.refused(name + " is being promoted and waits for " + (s.connection()
                    == io.repl.core.replication.ConnectionState.CONNECTED ? "its peer to see it" : "an answer")
                    + "; connect again once replctl primary has returned");
        }
        if (s.role() == Role.PRIMARY) {
            return Grant.readWrite(v);
        }
        Volume ro = readOnlyVolume;
        if (s.disk() == DiskState.UP_TO_DATE && ro != null) {
            // Decided on the resource's loop, like the gate, which keeps the decision honest afterwards.
            return Grant.readOnly(ro);
        }
        return Grant.refused(name + " is Secondary with disk " + s.disk().displayName()
                + "; only a Primary (read-write) or an UpToDate Secondary (read-only) serves the export");
    }

    @Override
    public void sessionOpened(NbdSession session) {
        sessions.add(session);
        ReadGate g = readGate;
        if (session.readOnly() && g != null && !g.isOpen()) {
            // The disk left UpToDate between the grant and now: its reads would only fail.
            session.close();
        }
    }

    @Override
    public void sessionClosed(NbdSession session) {
        sessions.remove(session);
    }

    /** The status record {@code replctl status --json} prints for this resource. */
    Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        boolean up = isUp();
        m.put("name", name);
        CoreDriver d = driver;
        CoreStatus cs = d == null ? null : d.status();
        if (cs != null) {
            m.put("role", cs.role().displayName());
            m.put("disk", cs.disk().displayName());
            m.put("connection", cs.connection().displayName());
            if (cs.standAloneReason() != null) {
                m.put("connectionReason", cs.standAloneReason());
            }
            m.put("replication", cs.replication().displayName());
            Map<String, Object> peer = new LinkedHashMap<>();
            peer.put("name", config.peerOf(nodeName).map(NodeConfig::name).orElse(cs.peerName()));
            peer.put("role", cs.peerRole() == null ? "Unknown" : cs.peerRole().displayName());
            peer.put("disk", cs.peerDisk() == null ? "DUnknown" : cs.peerDisk().displayName());
            m.put("peer", peer);
            m.put("outOfSyncBytes", cs.outOfSyncBytes());
            SyncProgress p = cs.sync();
            if (p == null) {
                m.put("sync", null);
            } else {
                Map<String, Object> sync = new LinkedHashMap<>();
                sync.put("percent", Math.round(p.percent() * 10) / 10.0);
                sync.put("bytesPerSecond", p.bytesPerSecond());
                sync.put("etaSeconds", p.etaSeconds() < 0 ? null : p.etaSeconds());
                sync.put("totalBytes", p.totalBytes());
                sync.put("leftBytes", p.leftBytes());
                // The pacing side (the SyncTarget) only: the controller's rate and what is in flight.
                sync.put("controllerBytesPerSecond", p.controllerBytesPerSecond() < 0 ? null
                        : p.controllerBytesPerSecond());
                sync.put("inFlightBytes", p.inFlightBytes() < 0 ? null : p.inFlightBytes());
                m.put("sync", sync);
            }
        } else {
            m.put("role", up ? "Primary" : "Secondary");
            m.put("disk", up ? "UpToDate" : "Diskless");
            m.put("connection", "StandAlone");
            m.put("replication", "Off");
            ResourceConfig rc = config;
            Map<String, Object> peer = null;
            if (rc != null && !rc.standalone()) {
                peer = new LinkedHashMap<>();
                peer.put("name", rc.peerOf(nodeName).map(NodeConfig::name).orElse(null));
                peer.put("role", "Unknown");
                peer.put("disk", "DUnknown");
            }
            m.put("peer", peer);
            Metadata md = metadata;
            m.put("outOfSyncBytes", md == null ? 0L : md.bitmap().dirtyBytes());
            m.put("sync", null);
        }
        FailoverFields.addTo(m, config, cs, FailoverFields.Clocks.system());
        NbdServer n = nbd;
        m.put("nbd", up && n != null ? n.uri() : null);
        BlockEngine e = engine;
        if (e != null) {
            m.put("sizeBytes", e.size());
            m.put("ioEngine", e.name());
        }
        m.put("clients", sessions.size());
        io.repl.agent.peer.PeerLink l = d == null ? null : d.link();
        if (l != null) {
            // Since the agent started, every connection of the resource's peer link.
            io.repl.agent.peer.PeerCounters t = l.counters();
            Map<String, Object> traffic = new LinkedHashMap<>();
            traffic.put("bytesOut", t.bytesOut());
            traffic.put("bytesIn", t.bytesIn());
            traffic.put("blockBytesOut", t.blockBytesOut());
            traffic.put("blockBytesIn", t.blockBytesIn());
            traffic.put("resyncBytesOut", t.resyncBytesOut());
            traffic.put("resyncBytesIn", t.resyncBytesIn());
            m.put("traffic", traffic);
        }
        MetaPlan mp = metaPlan;
        if (mp != null) {
            m.put("metadata", mp.none() ? "none" : mp.layout().placement().name().toLowerCase(Locale.ROOT));
        }
        ResourceConfig c = config;
        if (c != null) {
            m.put("protocol", c.protocol().name());
            m.put("standalone", c.standalone());
        }
        if (configError != null) {
            m.put("error", configError);
        } else if (lastError != null) {
            m.put("error", lastError);
        }
        return m;
    }
}
