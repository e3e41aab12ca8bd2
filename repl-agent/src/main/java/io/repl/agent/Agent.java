package io.repl.agent;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.repl.agent.io.PollingSelectStrategy;
import io.repl.agent.config.ConfigException;
import io.repl.agent.config.ConfigLoader;
import io.repl.agent.config.ResourceConfig;
import io.repl.agent.control.ControlRequest;
import io.repl.agent.control.ControlResponse;
import io.repl.agent.control.ControlServer;
import io.repl.agent.events.EventJournal;
import io.repl.agent.events.EventSink;
import io.repl.agent.events.HandlerEvents;
import io.repl.core.replication.Command;
import io.repl.hooks.HookRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;

/**
 * The daemon: every resource in the config directory, the NBD exports, the control socket.
 * Operator commands run one at a time on a single control thread, so state changes never
 * interleave ({@code status} has a thread of its own, as it changes nothing); the data path runs
 * on the event loops and the I/O engines.
 */
public final class Agent implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Agent.class.getName());

    private final Path configDir;
    private final Path stateDir;
    private final Path runDir;
    private final String nodeName;
    private final Path controlSocket;
    private final ConfigLoader loader = new ConfigLoader();
    /** Sorted by name; concurrent so that status and a metrics scrape read it off the control thread. */
    private final Map<String, Resource> resources = new java.util.concurrent.ConcurrentSkipListMap<>();
    private final ExecutorService control = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "control");
        t.setDaemon(true);
        return t;
    });
    /**
     * Answers {@code status} for known resources while a command (one waiting for a
     * before-promote handler, say) holds the control thread: monitors and watchers keep
     * getting answers. Status only reads what the resources publish.
     */
    /** Every resource has been brought up or tried at start: status may bypass the control thread. */
    private volatile boolean started;
    private final ExecutorService statusThread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "control-status");
        t.setDaemon(true);
        return t;
    });
    private final EventJournal.Settings journalSettings;
    /** The event journal once started (under the state directory); nowhere without one. */
    private volatile EventSink events = EventSink.NONE;
    private EventJournal journal;
    private final HookRunner hooks = new HookRunner(4,
            new HandlerEvents(e -> events.publish(e), java.time.Clock.systemUTC()));
    private EventLoopGroup group;
    private ControlServer controlServer;
    private io.repl.agent.config.HostPort metricsListen;
    private io.repl.agent.metrics.MetricsServer metrics;
    private ExecutorService scrapes;
    private volatile java.util.function.Consumer<String> summaryListener = s -> { };

    public Agent(Path configDir, String nodeName, Path controlSocket) {
        this(configDir, nodeName, controlSocket, null);
    }

    /** {@code stateDir}: where resources keep what they must find again (null: nothing kept). */
    public Agent(Path configDir, String nodeName, Path controlSocket, Path stateDir) {
        this(configDir, nodeName, controlSocket, stateDir, EventJournal.Settings.DEFAULTS, null);
    }

    /**
     * {@code journal}: how the event journal under {@code stateDir} rolls and how much it keeps;
     * {@code runDir}: where each resource's {@code NAME.state} is kept for the OCF agent (null: none).
     */
    public Agent(Path configDir, String nodeName, Path controlSocket, Path stateDir, EventJournal.Settings journal,
                 Path runDir) {
        this.journalSettings = journal;
        this.runDir = runDir;
        this.stateDir = stateDir;
        this.configDir = configDir;
        this.nodeName = nodeName;
        this.controlSocket = controlSocket;
    }

    /** Serve metrics on {@code address} (docs/OPERATIONS.md, section 8); call before {@link #start}. */
    public void metricsListen(io.repl.agent.config.HostPort address) {
        this.metricsListen = address;
    }

    /** Where metrics are served, with the real port; null without. */
    public java.net.InetSocketAddress metricsAddress() {
        return metrics == null ? null : metrics.address();
    }

    /**
     * Reads the config directory, brings every resource up (one that fails stays down with its
     * reason in status), and opens the control socket.
     *
     * @throws ConfigException if the directory itself cannot be read
     * @throws IOException if the control socket cannot be bound
     */
    public void start() throws ConfigException, IOException {
        group = new MultiThreadIoEventLoopGroup(Math.max(2, Runtime.getRuntime().availableProcessors()),
                EpollIoHandler.newFactory(0, PollingSelectStrategy.factory(PollingSelectStrategy.configuredNanos())));
        ConfigLoader.Directory dir = loader.loadDirectory(configDir);
        if (stateDir != null) {
            try {
                journal = EventJournal.open(stateDir, journalSettings);
                events = journal;
            } catch (IOException | RuntimeException e) {
                // The journal is history for operators: without it the resources still run.
                LOG.log(System.Logger.Level.ERROR, "node " + nodeName + ": no event journal in " + stateDir
                        + " (replctl events will have nothing new): " + e);
            }
        }
        // The control socket first: if another agent holds it, this one must not touch any disk.
        controlServer = ControlServer.start(group, controlSocket, this::handle, this::route);
        if (metricsListen != null) {
            // Scrapes read counters on a thread of their own: never on a resource's loop, and
            // never behind an operator command on the control thread.
            scrapes = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "metrics");
                t.setDaemon(true);
                return t;
            });
            metrics = io.repl.agent.metrics.MetricsServer.start(group, metricsListen, scrapes,
                    () -> ResourceMetrics.scrape(resources.values(), hooks.endedRuns()));
        }
        LOG.log(System.Logger.Level.INFO, "node " + nodeName + ": " + dir.resources().size() + " resource(s) in "
                + configDir + (dir.errors().isEmpty() ? "" : ", " + dir.errors().size() + " with config errors"));
        Future<?> upAll = control.submit(() -> {
            dir.errors().forEach((name, err) -> {
                LOG.log(System.Logger.Level.ERROR, err);
                Resource r = newResource(name);
                r.configure(null, err);
                resources.put(name, r);
            });
            dir.resources().forEach((name, cfg) -> {
                Resource r = newResource(name);
                r.configure(cfg, null);
                resources.put(name, r);
            });
            for (Resource r : resources.values()) {
                try {
                    r.up();
                } catch (StateChangeRefused e) {
                    LOG.log(System.Logger.Level.ERROR, e.getMessage());
                }
            }
        });
        try {
            upAll.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new IllegalStateException("bringing resources up failed", e.getCause());
        }
        started = true;
    }

    /**
     * Status of known resources on its own thread once every resource has been brought up (or
     * tried); everything else, one at a time, on the control thread. Until then a status waits
     * behind the start, as it always has: a script that starts the agent and waits for status
     * to answer finds the resources up, and their exports there.
     */
    private ExecutorService route(ControlRequest req) {
        boolean known = req.resource() == null || req.resource().equals("all") || resources.containsKey(req.resource());
        return started && "status".equals(req.command()) && known ? statusThread : control;
    }

    /** One line for systemd's STATUS: which resources are up and which are down. */
    public String summary() {
        List<String> up = new ArrayList<>();
        List<String> down = new ArrayList<>();
        for (Resource r : resources.values()) {
            (r.isUp() ? up : down).add(r.name());
        }
        return "node " + nodeName + ": " + up.size() + " resource(s) up" + (up.isEmpty() ? "" : " (" + String.join(", ",
                up) + ")") + (down.isEmpty() ? "" : ", " + down.size() + " down (" + String.join(", ", down)
                + "; see replctl status)");
    }

    private Resource newResource(String name) {
        return new Resource(name, nodeName, group, hooks, stateDir, events).publishStateTo(runDir);
    }

    /** The {@code size} option in bytes; 0 when absent. */
    private static long sizeOption(ControlRequest req) {
        Object size = req.options() == null ? null : req.options().get("size");
        return size instanceof Number n ? n.longValue() : 0;
    }

    /** Told the new {@link #summary} after every up and down, on the control thread (systemd's STATUS). */
    public void onSummaryChange(java.util.function.Consumer<String> listener) {
        this.summaryListener = listener;
    }

    /** Runs one operator command; only ever on the control thread. */
    ControlResponse handle(ControlRequest req) {
        try {
            return dispatch(req);
        } finally {
            if ("up".equals(req.command()) || "down".equals(req.command())) {
                summaryListener.accept(summary());
            }
        }
    }

    private ControlResponse dispatch(ControlRequest req) {
        try {
            switch (req.command()) {
                case "status":
                    return ControlResponse.ok(Map.of("resources", statuses(targets(req))));
                case "up":
                    for (Resource r : targets(req)) {
                        reload(r);
                        r.up();
                    }
                    return ControlResponse.ok(Map.of("resources", statuses(targets(req))));
                case "down":
                    for (Resource r : targets(req)) {
                        r.down();
                    }
                    return ControlResponse.ok(Map.of("resources", statuses(targets(req))));
                case "create-md":
                    return ControlResponse.ok(one(req).createMd(req.flag("force")));
                case "dump-md":
                    return ControlResponse.ok(one(req).dumpMd());
                case "primary":
                    return ControlResponse.ok(one(req).command(new Command.Primary(req.flag("force")), "primary"));
                case "secondary":
                    return ControlResponse.ok(one(req).command(new Command.Secondary(req.flag("force"), false),
                            "secondary"));
                case "connect":
                    return ControlResponse.ok(one(req).command(new Command.Connect(req.flag("discard-my-data")),
                            "connect"));
                case "disconnect":
                    return ControlResponse.ok(one(req).command(new Command.Disconnect(), "disconnect"));
                case "invalidate":
                    return ControlResponse.ok(one(req).command(new Command.Invalidate(), "invalidate"));
                case "invalidate-remote":
                    return ControlResponse.ok(one(req).command(new Command.InvalidateRemote(), "invalidate-remote"));
                case "new-current-uuid":
                    if (!req.flag("clear-bitmap")) {
                        return ControlResponse.error(ControlResponse.USAGE,
                                "new-current-uuid needs --clear-bitmap (the only form this agent supports)");
                    }
                    return ControlResponse.ok(one(req).command(new Command.NewCurrentUuidClearBitmap(),
                            "new-current-uuid"));
                case "pause-sync":
                    return ControlResponse.ok(one(req).command(new Command.PauseSync(), "pause-sync"));
                case "verify": {
                    Object start = req.options() == null ? null : req.options().get("start");
                    long offset = start == null ? 0 : io.repl.agent.config.Units.parseSize(start.toString());
                    if (offset < 0) {
                        return ControlResponse.error(ControlResponse.USAGE, "verify --start \"" + start
                                + "\" is not an offset such as 0, 4096 or 64M");
                    }
                    return ControlResponse.ok(one(req).command(new Command.Verify(offset), "verify"));
                }
                case "resume-sync":
                    return ControlResponse.ok(one(req).command(new Command.ResumeSync(), "resume-sync"));
                case "outdate":
                    return ControlResponse.ok(one(req).command(new Command.Outdate(), "outdate"));
                case "detach":
                    return ControlResponse.ok(one(req).command(new Command.Detach(), "detach"));
                case "attach":
                    return ControlResponse.ok(one(req).attach());
                case "resize":
                    return ControlResponse.ok(one(req).resize(sizeOption(req), req.flag("force"),
                            req.flag("assume-clean")));
                case "freeze":
                    return ControlResponse.ok(one(req).freeze(true));
                case "thaw":
                    return ControlResponse.ok(one(req).freeze(false));
                case "adjust":
                    return adjust(targets(req));
                case "resume-io":
                    return ControlResponse.ok(one(req).command(new Command.ResumeIo(req.flag("force")), "resume-io"));
                default:
                    return ControlResponse.error(ControlResponse.USAGE, "unknown command \"" + req.command()
                            + "\"; this agent knows: status, up, down, create-md, dump-md, primary, secondary, "
                            + "connect, disconnect, invalidate, invalidate-remote, new-current-uuid, pause-sync, resume-sync, verify, outdate, "
                            + "resume-io, detach, attach, resize, adjust, freeze, thaw");
            }
        } catch (StateChangeRefused e) {
            return ControlResponse.error(e.exitCode(), e.getMessage());
        } catch (UnknownResource e) {
            return ControlResponse.error(ControlResponse.USAGE, e.getMessage());
        }
    }

    /**
     * {@code adjust}: re-reads each resource's file and applies what is safe live. A file that
     * does not load is refused with the loader's message, and the resource runs on unchanged.
     */
    private ControlResponse adjust(List<Resource> rs) throws StateChangeRefused {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Resource r : rs) {
            ResourceConfig next;
            try {
                next = loader.load(configDir.resolve(r.name() + ".toml"));
            } catch (ConfigException e) {
                throw new StateChangeRefused(r.name() + ": the file is not usable, nothing was changed: "
                        + e.getMessage());
            }
            out.add(r.adjust(next));
        }
        return ControlResponse.ok(Map.of("resources", out));
    }

    /** Re-reads a down resource's file, so that a fixed config takes effect on 'up'. */
    private void reload(Resource r) {
        if (r.isUp()) {
            return;
        }
        Path file = configDir.resolve(r.name() + ".toml");
        try {
            ResourceConfig c = loader.load(file);
            r.configure(c, null);
        } catch (ConfigException e) {
            r.configure(null, e.getMessage());
        }
    }

    /** The single resource a command names; 'all' is not allowed for it. */
    private Resource one(ControlRequest req) throws UnknownResource {
        if (req.resource() == null || req.resource().equals("all")) {
            throw new UnknownResource(req.command() + " needs one resource name");
        }
        Resource r = targets(req).get(0);
        reload(r);
        return r;
    }

    private List<Resource> targets(ControlRequest req) throws UnknownResource {
        if (req.resource() == null || req.resource().equals("all")) {
            return new ArrayList<>(resources.values());
        }
        Resource r = resources.get(req.resource());
        if (r == null) {
            if (Files.isRegularFile(configDir.resolve(req.resource() + ".toml"))) {
                // A file added since the agent started: adopt it.
                r = newResource(req.resource());
                resources.put(req.resource(), r);
                reload(r);
                return List.of(r);
            }
            throw new UnknownResource("no resource \"" + req.resource() + "\"; configured: "
                    + String.join(", ", resources.keySet()) + " (files " + configDir + "/NAME.toml)");
        }
        return List.of(r);
    }

    private static List<Map<String, Object>> statuses(List<Resource> rs) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Resource r : rs) {
            out.add(r.status());
        }
        return out;
    }

    /** A command named a resource this agent does not have. */
    private static final class UnknownResource extends Exception {
        private static final long serialVersionUID = 1L;

        UnknownResource(String m) {
            super(m);
        }
    }

    /** Takes every resource down (flushing its disk) and stops serving. */
    @Override
    public synchronized void close() {
        if (control.isShutdown()) {
            return;
        }
        if (controlServer != null) {
            controlServer.close();
        }
        if (metrics != null) {
            metrics.close();
            scrapes.shutdown();
        }
        // Downs run on the control thread like every other state change, after whatever
        // command is running now.
        Future<?> downAll = control.submit(() -> resources.values().forEach(Resource::down));
        control.shutdown();
        statusThread.shutdown();
        try {
            downAll.get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.log(System.Logger.Level.ERROR, "taking resources down at stop failed: " + e);
        }
        hooks.close();
        if (journal != null) {
            journal.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        LOG.log(System.Logger.Level.INFO, "node " + nodeName + ": agent stopped");
    }
}
