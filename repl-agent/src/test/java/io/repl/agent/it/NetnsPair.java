package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Two agents, alpha and beta, and optionally a witness, each in its own network namespace of
 * one {@link NetnsHosts} segment ({@code alpha}, {@code beta}, {@code witness}), mirroring r0
 * under protocol C with short timeouts (ping every 500 ms, 1 s to answer, reconnect every
 * 200 ms) so that losses are noticed within about a second and a half.
 *
 * <p>{@link #start} brings the pair up the quick way: two zeroed disks declared identical
 * ({@code new-current-uuid --clear-bitmap}, no initial sync), alpha Primary, and, with a
 * witness, waits until the witness records the pair. Setup talks to the control sockets
 * directly ({@link #call}), because each {@code bin/replctl} is a JVM start of about a
 * second; the commands a test is about go through {@code bin/replctl} ({@link #ctl}), exit
 * codes and messages as an operator sees them.
 */
final class NetnsPair implements AutoCloseable {
    static final String RES = "r0";
    static final int AGENT_PORT = 7789;
    static final int WITNESS_PORT = 7790;
    /** Blocks the writers use: 32 MiB of the 64 MiB disks. */
    static final int BLOCKS = 8192;
    /** The writers' queue depth. */
    static final int DEPTH = 16;

    /** How the pair is configured. */
    record Options(boolean witness, String fencing, String fencePeer, String unfencePeer, String onNoQuorum,
                   long diskBytes, Path alphaDisk, Path alphaMeta) {
        static final Options DEFAULTS = new Options(false, null, null, null, null, 64L << 20, null, null);

        Options withWitness() {
            return new Options(true, fencing, fencePeer, unfencePeer, onNoQuorum, diskBytes, alphaDisk, alphaMeta);
        }

        /** {@code [disk] fencing}; null leaves it out (the default, outdate). */
        Options fencing(String f) {
            return new Options(witness, f, fencePeer, unfencePeer, onNoQuorum, diskBytes, alphaDisk, alphaMeta);
        }

        /** {@code [handlers] fence-peer}. */
        Options fencePeer(Path handler) {
            return new Options(witness, fencing, handler.toString(), unfencePeer, onNoQuorum, diskBytes, alphaDisk,
                    alphaMeta);
        }

        /** {@code [handlers] unfence-peer}. */
        Options unfencePeer(Path handler) {
            return new Options(witness, fencing, fencePeer, handler.toString(), onNoQuorum, diskBytes, alphaDisk,
                    alphaMeta);
        }

        /**
         * alpha's data disk and metadata device at these paths (failing devices, say), which must
         * exist and hold {@link #diskBytes}; beta's metadata then goes in a file beside its disk,
         * so that both data areas are the same size.
         */
        Options alphaOn(Path disk, Path meta) {
            return new Options(witness, fencing, fencePeer, unfencePeer, onNoQuorum, diskBytes, disk, meta);
        }
    }

    final Path dir;
    final Options options;
    final NetnsHosts hosts;
    final AgentProcess alpha;
    final AgentProcess beta;
    /** Null without a witness. */
    final AgentProcess witness;
    private final ObjectMapper json = new ObjectMapper();
    /** Logs of other processes the pair depends on (a failing device's server), by name. */
    private final Map<String, Path> otherLogs = new LinkedHashMap<>();

    private NetnsPair(Path dir, Options options, NetnsHosts hosts) throws Exception {
        this.dir = dir;
        this.options = options;
        this.hosts = hosts;
        alpha = new AgentProcess(dir, "alpha", Map.of(), hosts.ns("alpha"));
        beta = new AgentProcess(dir, "beta", Map.of(), hosts.ns("beta"));
        witness = options.witness()
                ? AgentProcess.witness(dir, hosts.ns("witness"), hosts.ip("witness"), WITNESS_PORT) : null;
        String toml = config();
        for (AgentProcess a : new AgentProcess[] {alpha, beta}) {
            Path disk = disk(a);
            if (a == alpha && options.alphaDisk() != null) {
                a.writeConfig(RES, toml);
                continue;
            }
            try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[1]), options.diskBytes() - 1);
            }
            a.writeConfig(RES, toml);
        }
        if (witness != null) {
            // The same file on all three machines, as in production.
            witness.writeConfig(RES, toml);
        }
    }

    /**
     * Creates the namespaces (skipping the test without root) and the agents' files; nothing
     * runs yet. Close it in a try-with-resources: that stops every process and then deletes
     * the namespaces.
     */
    static NetnsPair create(Path dir, Options options) throws Exception {
        NetnsHosts hosts = NetnsHosts.create("alpha", "beta", "witness");
        try {
            return new NetnsPair(dir, options, hosts);
        } catch (Throwable t) {
            hosts.close();
            throw t;
        }
    }

    private String config() {
        List<String> l = new ArrayList<>(List.of(
                "protocol = \"C\"",
                "[net]",
                "shared-secret = \"s3cret\"",
                "ping-interval = \"500ms\"",
                "ping-timeout = \"1s\"",
                "connect-retry = \"200ms\"",
                "timeout = \"2s\""));
        if (options.fencing() != null) {
            l.add("[disk]");
            l.add("fencing = \"" + options.fencing() + "\"");
        }
        if (options.fencePeer() != null || options.unfencePeer() != null) {
            l.add("[handlers]");
        }
        if (options.fencePeer() != null) {
            l.add("fence-peer = \"" + options.fencePeer() + "\"");
        }
        if (options.unfencePeer() != null) {
            l.add("unfence-peer = \"" + options.unfencePeer() + "\"");
        }
        if (options.witness()) {
            l.add("[witness]");
            l.add("address = \"" + hosts.ip("witness") + ":" + WITNESS_PORT + "\"");
            if (options.onNoQuorum() != null) {
                l.add("on-no-quorum = \"" + options.onNoQuorum() + "\"");
            }
        }
        for (AgentProcess a : new AgentProcess[] {alpha, beta}) {
            l.add("[node." + a.node + "]");
            l.add("address = \"" + address(a) + "\"");
            l.add("disk = \"" + disk(a) + "\"");
            if (options.alphaMeta() != null) {
                l.add("meta-disk = \"" + (a == alpha ? options.alphaMeta() : dir.resolve(a.node + "-meta.img")) + "\"");
            }
            l.add("nbd-socket = \"" + socket(a) + "\"");
        }
        l.add("");
        return String.join("\n", l);
    }

    String address(AgentProcess a) {
        return hosts.ip(a.node) + ":" + AGENT_PORT;
    }

    Path disk(AgentProcess a) {
        return a == alpha && options.alphaDisk() != null ? options.alphaDisk() : dir.resolve(a.node + "-disk.img");
    }

    Path socket(AgentProcess a) {
        return dir.resolve(a.node + "-r0.nbd");
    }

    AgentProcess other(AgentProcess a) {
        return a == alpha ? beta : alpha;
    }

    /**
     * Starts the witness (if any) and both agents, creates metadata, declares the zeroed disks
     * in sync, makes alpha Primary, and waits until both are UpToDate and, with a witness,
     * until the witness holds a record naming both. On a failure everything is stopped and
     * the namespaces deleted, so {@code try (NetnsPair p = NetnsPair.create(...).start())}
     * leaves nothing behind.
     */
    NetnsPair start() throws Exception {
        try {
            return startAll();
        } catch (Throwable t) {
            // The caller's try-with-resources has not got hold of this pair yet.
            try {
                close();
            } catch (Exception e) {
                t.addSuppressed(e);
            }
            throw t;
        }
    }

    private NetnsPair startAll() throws Exception {
        long t0 = System.nanoTime();
        // The three JVMs start together; the agents keep dialling the witness until it is there.
        List<CompletableFuture<Void>> starting = new ArrayList<>();
        for (AgentProcess a : new AgentProcess[] {witness, beta, alpha}) {
            if (a != null) {
                starting.add(CompletableFuture.runAsync(() -> {
                    try {
                        if (a.isWitness()) {
                            a.start();
                        } else {
                            start(a);
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }));
            }
        }
        for (CompletableFuture<Void> f : starting) {
            f.get(120, TimeUnit.SECONDS);
        }
        for (AgentProcess a : new AgentProcess[] {alpha, beta}) {
            ok(a, "create-md");
            ok(a, "up");
        }
        waitFor(() -> connected(alpha) && connected(beta), "alpha and beta to connect");
        ok(alpha, "new-current-uuid", Map.of("clear-bitmap", true));
        waitFor(() -> inSync(alpha) && inSync(beta), "both disks UpToDate without a sync");
        ok(alpha, "primary", Map.of("force", false));
        if (witness != null) {
            waitFor(this::witnessRecordsPair, "the witness to record the in-sync pair");
        }
        System.out.println("[NetnsPair] up in " + (System.nanoTime() - t0) / 1_000_000 + " ms"
                + (witness != null ? " with a witness" : "") + (options.fencing() != null ? ", fencing "
                + options.fencing() : ""));
        return this;
    }

    /**
     * Starts (or restarts) {@code a}'s agent and waits until its control socket answers, asked
     * directly rather than through bin/replctl.
     */
    AgentProcess start(AgentProcess a) throws Exception {
        return a.start(x -> Files.exists(x.controlSocket) && call(x, "status", Map.of()).has("exit"));
    }

    /**
     * Both nodes reach the witness and the witness has recorded both as holders of their
     * generation. The witness's log says so: a node's own status shows the record as of the
     * witness's last answer to it, and the node that reported first was answered before the
     * other had reported.
     */
    boolean witnessRecordsPair() throws Exception {
        return witnessReachable(alpha) && witnessReachable(beta)
                && logLine(witness, "witness r0: ", "; record now ", " held by alpha and beta") != null;
    }

    boolean witnessReachable(AgentProcess a) throws Exception {
        return status(a).path("quorum").path("witness").path("reachable").asBoolean();
    }

    boolean connected(AgentProcess a) throws Exception {
        return "Connected".equals(status(a).path("connection").asText());
    }

    /** Connected, no resync, both disks UpToDate. */
    boolean inSync(AgentProcess a) throws Exception {
        JsonNode s = status(a);
        return "Connected".equals(s.path("connection").asText())
                && "Established".equals(s.path("replication").asText())
                && "UpToDate".equals(s.path("disk").asText())
                && "UpToDate".equals(s.path("peer").path("disk").asText());
    }

    /** Waits (60 s at most) until both nodes are connected, in sync and UpToDate. */
    void waitInSync() throws Exception {
        waitFor(() -> inSync(alpha) && inSync(beta), "alpha and beta connected, in sync and UpToDate", 60);
    }

    // ------------------------------------------------------------------ control

    /**
     * One request on {@code a}'s control socket, as replctl sends it; returns the whole answer
     * ({@code exit}, {@code error}, {@code result}).
     */
    JsonNode call(AgentProcess a, String command, Map<String, Object> opts) throws IOException {
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("command", command);
        req.put("resource", RES);
        req.put("options", opts);
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(a.controlSocket));
            byte[] body = json.writeValueAsBytes(req);
            ByteBuffer out = ByteBuffer.allocate(body.length + 1).put(body).put((byte) '\n').flip();
            while (out.hasRemaining()) {
                ch.write(out);
            }
            ByteArrayOutputStream in = new ByteArrayOutputStream();
            InputStream stream = Channels.newInputStream(ch);
            stream.transferTo(in);
            String text = in.toString(StandardCharsets.UTF_8).trim();
            if (text.isEmpty()) {
                throw new IOException(a.node + ": the agent closed the control connection without answering");
            }
            return json.readTree(text);
        }
    }

    void ok(AgentProcess a, String command) throws IOException {
        ok(a, command, Map.of());
    }

    void ok(AgentProcess a, String command, Map<String, Object> opts) throws IOException {
        JsonNode r = call(a, command, opts);
        if (r.path("exit").asInt(1) != 0) {
            throw new AssertionError(a.node + ": " + command + " failed (" + r.path("exit").asInt() + "): "
                    + r.path("error").asText() + "\n" + logs());
        }
    }

    /** r0's status on {@code a}, the object {@code replctl status --json r0} prints in its list. */
    JsonNode status(AgentProcess a) throws IOException {
        JsonNode r = call(a, "status", Map.of());
        if (r.path("exit").asInt(1) != 0) {
            throw new IOException(a.node + ": status failed: " + r.path("error").asText());
        }
        return r.path("result").path("resources").path(0);
    }

    /** r0's status on {@code a} through {@code bin/replctl status --json r0}. */
    JsonNode replctlStatus(AgentProcess a) throws Exception {
        return json.readTree(a.ctl("status", "--json", RES).ok().out()).path("resources").path(0);
    }

    /** {@code bin/replctl ARGS... r0} on {@code a}. */
    Cmd.Result ctl(AgentProcess a, String... args) throws Exception {
        String[] argv = new String[args.length + 1];
        System.arraycopy(args, 0, argv, 0, args.length);
        argv[args.length] = RES;
        return a.ctl(argv);
    }

    /**
     * {@code bin/replctl primary [OPTIONS] r0}, retried while it answers 11 because writes
     * received from the lost Primary are still being applied (or the connection is still
     * exchanging states), as an operator would; 30 s at most.
     */
    Cmd.Result promote(AgentProcess a, String... options) throws Exception {
        String[] argv = new String[options.length + 1];
        argv[0] = "primary";
        System.arraycopy(options, 0, argv, 1, options.length);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            Cmd.Result r = ctl(a, argv);
            boolean transient_ = r.exit() == 11 && (r.err().contains("still being applied")
                    || r.err().contains("still exchanging states"));
            if (!transient_ || System.nanoTime() - deadline > 0) {
                return r;
            }
            Thread.sleep(100);
        }
    }

    // ------------------------------------------------------------------ data

    /** A writer on {@code a}'s export, over {@link #BLOCKS} blocks at {@link #DEPTH}. */
    RecordingWriter writer(AgentProcess a, AckLedger ledger) throws Exception {
        return RecordingWriter.start(socket(a), RES, BLOCKS, ledger,
                RecordingWriter.Options.DEFAULTS.depth(DEPTH));
    }

    /** Verifies {@code ledger} through {@code a}'s export, printing and returning the report. */
    AckLedger.Report verify(AckLedger ledger, AgentProcess a) {
        AckLedger.Report r = ledger.verify(socket(a), RES);
        System.out.println("verify on " + a.node + ": " + r.describe(5));
        return r;
    }

    /** {@code a} serves every acknowledged write; the failure message ends with the logs. */
    AckLedger.Report assertNothingLost(AckLedger ledger, AgentProcess a) {
        AckLedger.Report r = verify(ledger, a);
        return r.ok() ? r : r.assertOk("\n" + logs());
    }

    /** SHA-256 of the data area (the first {@code sizeBytes}) of {@code a}'s backing file. */
    String dataHash(AgentProcess a) throws Exception {
        long bytes = status(a).path("sizeBytes").asLong();
        assertTrue(bytes > 0, "sizeBytes");
        return PairFixture.sha256(disk(a), bytes);
    }

    /** Both backing files hold the same data area. */
    void assertIdentical() throws Exception {
        assertEquals(dataHash(alpha), dataHash(beta), "alpha's and beta's data areas differ\n" + logs());
    }

    // ------------------------------------------------------------------ logs

    /**
     * The wall-clock time stamp of the first line of {@code p}'s log that contains every one of
     * {@code words}, or null if there is none yet.
     */
    static Instant logTime(AgentProcess p, String... words) throws IOException {
        String line = logLine(p, words);
        return line == null ? null : Instant.parse(line.substring(0, line.indexOf(' ')));
    }

    /** The first line of {@code p}'s log that contains every one of {@code words}, or null. */
    static String logLine(AgentProcess p, String... words) throws IOException {
        for (String line : p.log().split("\n")) {
            boolean all = true;
            for (String w : words) {
                all &= line.contains(w);
            }
            if (all) {
                return line;
            }
        }
        return null;
    }

    /** The decision of {@code a}'s latest handshake ({@code BITMAP_SYNC_SOURCE}, ...), or null before any. */
    static String lastHandshake(AgentProcess a) throws IOException {
        String decision = null;
        for (String line : a.log().split("\n")) {
            int at = line.indexOf("handshake: ");
            if (at >= 0 && line.contains(" -> ")) {
                decision = line.substring(line.lastIndexOf(" -> ") + 4).split(" ")[0];
            }
        }
        return decision;
    }

    /** {@link #logs} also shows the end of {@code file}, under {@code name}. */
    void alsoLog(String name, Path file) {
        otherLogs.put(name, file);
    }

    /** The last lines of every process's log, for failure messages. */
    String logs() {
        StringBuilder s = new StringBuilder();
        for (AgentProcess p : new AgentProcess[] {alpha, beta, witness}) {
            if (p == null) {
                continue;
            }
            String log;
            try {
                log = p.log();
            } catch (IOException e) {
                log = "(unreadable: " + e + ")";
            }
            s.append("\n--- ").append(p.node).append(" ---\n").append(lastLines(log, 60));
        }
        for (Map.Entry<String, Path> other : otherLogs.entrySet()) {
            String log;
            try {
                log = Files.exists(other.getValue()) ? Files.readString(other.getValue()) : "(no log)";
            } catch (IOException e) {
                log = "(unreadable: " + e + ")";
            }
            s.append("\n--- ").append(other.getKey()).append(" ---\n").append(lastLines(log, 30));
        }
        return s.toString();
    }

    private static String lastLines(String text, int n) {
        String[] lines = text.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(lines, Math.max(0, lines.length - n), lines.length));
    }

    /** {@link NbdClientsIT#waitFor} with the logs in the failure, 30 s. */
    void waitFor(NbdClientsIT.Check c, String what) throws Exception {
        waitFor(c, what, 30);
    }

    void waitFor(NbdClientsIT.Check c, String what, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        Exception last = null;
        while (true) {
            try {
                if (c.holds()) {
                    return;
                }
            } catch (Exception notYet) {
                last = notYet;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + seconds + " s waiting for " + what
                        + (last == null ? "" : " (last error: " + last + ")") + "\n" + logs());
            }
            Thread.sleep(50);
        }
    }

    /** Stops the agents and the witness (SIGTERM, all at once), then deletes the namespaces. */
    @Override
    public void close() throws Exception {
        try {
            List<CompletableFuture<Void>> closing = new ArrayList<>();
            for (AgentProcess p : new AgentProcess[] {alpha, beta, witness}) {
                if (p != null) {
                    closing.add(CompletableFuture.runAsync(() -> {
                        try {
                            p.close();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }));
                }
            }
            for (CompletableFuture<Void> f : closing) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            hosts.close();
        }
    }
}
