package io.repl.agent.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real agent process started through bin/repl-agent, as an operator would, with its own
 * config directory, control socket and log file under a test directory. {@link #witness}
 * makes the third process of a pair instead: {@code repl-agent --witness}, with no node name
 * and no control socket, ready when a {@link Readiness} says so.
 */
final class AgentProcess implements AutoCloseable {
    static final Path ROOT = findRoot();

    final Path dir;
    final Path configDir;
    final Path controlSocket;
    final Path log;
    final String node;
    private final Map<String, String> env;
    /** A network namespace to run the agent in, or null for this one. */
    private final String netns;
    private Process process;
    /** Null for an agent; for a witness, what start() waits for. */
    private final Readiness witnessReady;
    private long startedNanos;
    /** More options for bin/repl-agent, after the ones every agent gets. */
    private final List<String> extraArgs = new ArrayList<>();
    private volatile boolean frozen;

    /** When a started process counts as ready; it may throw while it is not yet. */
    interface Readiness {
        boolean ready(AgentProcess p) throws Exception;

        default Readiness and(Readiness other) {
            return p -> ready(p) && other.ready(p);
        }
    }

    /** Adds options to this agent's command line, for the next start. */
    AgentProcess withArgs(String... args) {
        extraArgs.addAll(Arrays.asList(args));
        return this;
    }

    AgentProcess(Path dir, String node) throws IOException {
        this(dir, node, Map.of());
    }

    AgentProcess(Path dir, String node, Map<String, String> env) throws IOException {
        this(dir, node, env, null);
    }

    AgentProcess(Path dir, String node, Map<String, String> env, String netns) throws IOException {
        this(dir, node, env, netns, null);
    }

    private AgentProcess(Path dir, String node, Map<String, String> env, String netns, Readiness witnessReady)
            throws IOException {
        this.dir = dir;
        this.node = node;
        this.env = env;
        this.netns = netns;
        this.witnessReady = witnessReady;
        this.configDir = Files.createDirectories(dir.resolve("conf-" + node));
        this.controlSocket = dir.resolve(node + ".ctl");
        this.log = dir.resolve(node + ".log");
    }

    /**
     * A witness, {@code bin/repl-agent --witness --config-dir DIR --state-dir DIR}, run in
     * {@code netns} (null: this namespace), with its files under {@code dir} as
     * {@code conf-witness/}, {@code state-witness/} and {@code witness.log}. By default
     * {@link #start} waits until {@code host:port} (its {@code [witness] address}) accepts a TCP
     * connection from inside its namespace and the process has been alive for a second: the
     * port proves it listens whatever its log says, and the second catches a witness that
     * binds and then dies on its configuration.
     */
    static AgentProcess witness(Path dir, String netns, String host, int port) throws IOException {
        return witness(dir, netns, Map.of(), aliveFor(Duration.ofSeconds(1)).and(acceptsTcp(host, port)));
    }

    /** A witness that is ready when {@code ready} says so, e.g. {@code logLine("witness", "listening")}. */
    static AgentProcess witness(Path dir, String netns, Map<String, String> env, Readiness ready)
            throws IOException {
        return new AgentProcess(dir, "witness", env, netns, ready);
    }

    /** Ready once one line of the log contains every one of {@code words} (ignoring case). */
    static Readiness logLine(String... words) {
        return p -> {
            for (String line : p.log().split("\n")) {
                String l = line.toLowerCase(Locale.ROOT);
                if (Arrays.stream(words).allMatch(w -> l.contains(w.toLowerCase(Locale.ROOT)))) {
                    return true;
                }
            }
            return false;
        };
    }

    /** Ready once {@code host:port} accepts a TCP connection from inside the process's namespace. */
    static Readiness acceptsTcp(String host, int port) {
        return p -> NetnsHosts.tcpConnectsIn(p.netns, host, port, Duration.ofSeconds(1));
    }

    /** Ready once the process has been running for {@code d}. */
    static Readiness aliveFor(Duration d) {
        return p -> System.nanoTime() - p.startedNanos >= d.toNanos();
    }

    boolean isWitness() {
        return witnessReady != null;
    }

    /** The network namespace the process runs in, null for this one. */
    String netns() {
        return netns;
    }

    private static Path findRoot() {
        Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("bin/repl-agent"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find bin/repl-agent above " + System.getProperty("user.dir"));
        }
        return p;
    }

    /** Where the agent keeps {@code NAME.state} (its {@code --run-dir}). */
    Path runDir() {
        return dir.resolve("run-" + node);
    }

    /** {@code resource}'s state file as key/value pairs, empty when there is none. */
    Map<String, String> stateFile(String resource) throws IOException {
        Path f = runDir().resolve(resource + ".state");
        Map<String, String> m = new java.util.LinkedHashMap<>();
        if (Files.exists(f)) {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    m.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
        }
        return m;
    }

    /** Writes {@code NAME.toml} into this agent's config directory. */
    Path writeConfig(String resource, String toml) throws IOException {
        return Files.writeString(configDir.resolve(resource + ".toml"), toml);
    }

    /**
     * Starts the agent and waits until its control socket answers {@code status} (asked
     * directly, as {@code replctl status} would ask it, without a bin/replctl start for each try).
     */
    AgentProcess start() throws IOException, InterruptedException {
        if (isWitness()) {
            return startWitness();
        }
        return start(p -> Files.exists(controlSocket)
                && request("status", null, Map.of()).path("exit").asInt(-1) == 0);
    }

    /**
     * Starts the agent and waits (60 s at most) until {@code ready} holds, e.g. a test's own
     * request on the control socket, which spares the second or so a {@code bin/replctl}
     * takes to start.
     */
    AgentProcess start(Readiness ready) throws IOException, InterruptedException {
        if (isWitness()) {
            throw new IllegalStateException("a witness is ready when its own predicate says so");
        }
        List<String> argv = new ArrayList<>();
        if (netns != null) {
            argv.addAll(List.of("ip", "netns", "exec", netns));
        }
        argv.addAll(List.of(ROOT.resolve("bin/repl-agent").toString(), "--config-dir",
                configDir.toString(), "--node", node, "--control-socket", controlSocket.toString(), "--state-dir",
                dir.resolve("state-" + node).toString(), "--run-dir", runDir().toString()));
        argv.addAll(extraArgs);
        ProcessBuilder pb = new ProcessBuilder(argv)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        process = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            if (!process.isAlive()) {
                throw new AssertionError("agent exited with " + process.exitValue() + " during start:\n" + log());
            }
            boolean up;
            try {
                up = ready.ready(this);
            } catch (Exception notYet) {
                up = false;
            }
            if (up) {
                return this;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("agent was not ready within 60 s:\n" + log());
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
    }

    /** Starts the witness and waits (60 s at most) until its readiness predicate holds. */
    private AgentProcess startWitness() throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>();
        if (netns != null) {
            argv.addAll(List.of("ip", "netns", "exec", netns));
        }
        argv.addAll(List.of(ROOT.resolve("bin/repl-agent").toString(), "--witness", "--config-dir",
                configDir.toString(), "--state-dir", dir.resolve("state-" + node).toString()));
        ProcessBuilder pb = new ProcessBuilder(argv)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        startedNanos = System.nanoTime();
        process = pb.start();
        long deadline = startedNanos + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            boolean ready;
            try {
                ready = witnessReady.ready(this);
            } catch (Exception notYet) {
                ready = false;
            }
            // Checked after the predicate: a witness that passed it and died at once is not ready.
            if (!process.isAlive()) {
                throw new AssertionError("witness exited with " + process.exitValue() + " during start:\n" + log());
            }
            if (ready) {
                return this;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("witness was not ready within 60 s:\n" + log());
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
    }

    /**
     * Sends {@code sig} ("STOP", "CONT", "TERM", ...) to the process and everything it started.
     * STOP freezes it: its sockets stay open and nothing answers, as a hung host would. A
     * frozen process is thawed before {@link #stop} and {@link #close} so they can end it.
     */
    void signal(String sig) throws IOException, InterruptedException {
        if (process == null || !process.isAlive()) {
            throw new IllegalStateException(node + " is not running");
        }
        List<String> argv = new ArrayList<>(List.of("kill", "-s", sig, Long.toString(process.pid())));
        // The launchers exec, so the pid is the JVM; a child they might start gets the signal too.
        process.descendants().forEach(d -> argv.add(Long.toString(d.pid())));
        Cmd.run(argv.toArray(String[]::new)).ok();
        if ("STOP".equals(sig) || "SIGSTOP".equals(sig)) {
            frozen = true;
            // kill(2) returns once the signal is queued; a thread running on another core goes
            // on until it next leaves the kernel. Frozen means every thread has stopped.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!everyThreadStopped()) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(node + " still has a running thread 30 s after SIGSTOP");
                }
                TimeUnit.MILLISECONDS.sleep(1);
            }
        } else if ("CONT".equals(sig) || "SIGCONT".equals(sig)) {
            frozen = false;
        }
    }

    /** Every task of the process is in state T (stopped by a signal), read from /proc. */
    private boolean everyThreadStopped() {
        Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
        try (var list = Files.list(tasks)) {
            return list.allMatch(t -> {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    // "pid (comm) S ...": the comm may hold spaces and parentheses.
                    return stat.charAt(stat.lastIndexOf(')') + 2) == 'T';
                } catch (IOException gone) {
                    return true; // a thread that ended is not running either
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + tasks, e);
        }
    }

    /** A frozen process ignores SIGTERM until it is thawed. */
    private void thawQuietly() throws InterruptedException {
        if (frozen && process != null && process.isAlive()) {
            try {
                signal("CONT");
            } catch (IOException | RuntimeException | AssertionError e) {
                // it died meanwhile; SIGTERM or SIGKILL will find out
            }
        }
    }

    /** Runs bin/replctl against this agent. */
    Cmd.Result ctl(String... args) throws IOException, InterruptedException {
        if (isWitness()) {
            throw new IllegalStateException("the witness has no control socket");
        }
        List<String> argv = new ArrayList<>();
        argv.add(ROOT.resolve("bin/replctl").toString());
        argv.add("--control-socket");
        argv.add(controlSocket.toString());
        argv.addAll(List.of(args));
        return Cmd.run(Map.of(), 300, argv.toArray(String[]::new));
    }

    /**
     * {@code resource}'s status record, asked on the control socket directly: quick enough to
     * poll a resync's progress, where a bin/replctl takes a second to start.
     */
    com.fasterxml.jackson.databind.JsonNode statusNow(String resource) throws IOException {
        return request("status", resource, Map.of()).path("result").path("resources").path(0);
    }

    /**
     * {@code command} on {@code resource} with {@code options} (as replctl sends them, e.g.
     * {@code Map.of("force", true)}), sent on the control socket directly, for the setup steps of
     * a test that does not test replctl itself: a bin/replctl takes a second or more to start.
     * Fails unless the agent answers with exit 0.
     */
    com.fasterxml.jackson.databind.JsonNode ctlNow(String command, String resource, Map<String, Object> options)
            throws IOException {
        com.fasterxml.jackson.databind.JsonNode answer = request(command, resource, options);
        if (answer.path("exit").asInt(-1) != 0) {
            throw new AssertionError(node + ": " + command + " " + resource + " " + options + " refused: " + answer);
        }
        return answer.path("result");
    }

    private com.fasterxml.jackson.databind.JsonNode request(String command, String resource,
            Map<String, Object> options) throws IOException {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        Map<String, Object> req = new java.util.LinkedHashMap<>();
        req.put("command", command);
        req.put("resource", resource);
        req.put("options", options);
        try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(
                java.net.StandardProtocolFamily.UNIX)) {
            ch.connect(java.net.UnixDomainSocketAddress.of(controlSocket));
            java.nio.ByteBuffer out = java.nio.ByteBuffer.wrap((json.writeValueAsString(req) + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) {
                ch.write(out);
            }
            return json.readTree(java.nio.channels.Channels.newInputStream(ch).readAllBytes());
        }
    }

    boolean alive() {
        return process != null && process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    String log() throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "(no log)";
    }

    /** SIGKILL: the agent gets no chance to flush or clean up. */
    void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** SIGTERM and wait: a clean stop. */
    int stop() throws InterruptedException {
        if (process == null) {
            return -1;
        }
        thawQuietly();
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new AssertionError("agent did not stop within 60 s of SIGTERM");
        }
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            thawQuietly();
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }
}
