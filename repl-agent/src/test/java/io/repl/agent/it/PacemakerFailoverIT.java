package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * repl as a promotable clone in a real two-node corosync + Pacemaker cluster (network, mount
 * and UTS namespaces on this machine: repl-agent/src/test/pacemaker/cluster), configured by the
 * blocks of docs/OPERATIONS.md section 10 run as they are, with the release tarball in
 * /opt/repl. An ext4 Filesystem over the Primary's export and an HTTP file store that answers a
 * PUT only once the file is fsynced are colocated with the promoted instance.
 *
 * <p>node1 (promoted) is killed while a client writes; every acknowledged file must be on node2
 * once the service answers there; node1 returns, resyncs, the fence constraint goes, and a
 * switchover moves the service back with every file still there; then node1 is killed again and
 * node2 takes over once more, without an operator (the switchover's goodbye was voided). The
 * failover and switchover times are printed, never asserted.
 */
@Timeout(600)
class PacemakerFailoverIT {
    private static final Path SCRIPTS = AgentProcess.ROOT.resolve("repl-agent/src/test/pacemaker");
    private static final Path CLUSTER = SCRIPTS.resolve("cluster");
    private static final Path GUIDE = AgentProcess.ROOT.resolve("docs/OPERATIONS.md");
    /** Node N's address, ADDRESS[N]. */
    private static final String[] ADDRESS = {null, "10.214.0.1", "10.214.0.2"};

    @TempDir
    Path dir;
    private Map<String, String> env;

    private static void report(String what) {
        System.out.println("[PacemakerFailoverIT] " + what);
    }

    /** The code block marked {@code <!-- pacemaker-it: NAME -->} in docs/OPERATIONS.md. */
    static String guideBlock(String name) throws IOException {
        List<String> lines = Files.readAllLines(GUIDE);
        int i = lines.indexOf("<!-- pacemaker-it: " + name + " -->");
        if (i < 0 || i + 1 >= lines.size() || !lines.get(i + 1).startsWith("```")) {
            throw new AssertionError("docs/OPERATIONS.md has no block marked pacemaker-it: " + name);
        }
        StringBuilder b = new StringBuilder();
        for (int j = i + 2; !lines.get(j).startsWith("```"); j++) {
            b.append(lines.get(j)).append('\n');
        }
        return b.toString();
    }

    private Cmd.Result cluster(int timeoutSeconds, String... args) throws Exception {
        String[] argv = new String[args.length + 1];
        argv[0] = CLUSTER.toString();
        System.arraycopy(args, 0, argv, 1, args.length);
        return Cmd.run(env, timeoutSeconds, argv);
    }

    /** Runs a shell script inside node {@code n}. */
    private Cmd.Result onNode(int n, String script) throws Exception {
        return cluster(180, "nx", Integer.toString(n), "sh", "-c", script);
    }

    /** The file store's answer to {@code curl ARGS} from inside node {@code from}; null if it failed. */
    private String curl(int from, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("nx", Integer.toString(from), "curl", "-s", "-f", "-m", "3"));
        argv.addAll(List.of(args));
        Cmd.Result r = cluster(30, argv.toArray(String[]::new));
        return r.exit() == 0 ? r.out() : null;
    }

    private String health(int from, String host) throws Exception {
        return curl(from, "http://" + host + ":8080/health");
    }

    /** Nanoseconds from {@code sinceNanos} until the file store on {@code host} answers with {@code node}. */
    private long untilServed(int from, String host, String node, long sinceNanos, int seconds) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!node.equals(health(from, host))) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("the service did not answer on " + node + " within " + seconds + " s:\n"
                        + onNode(from, "crm_mon -1 -r").out());
            }
            Thread.sleep(200);
        }
        return System.nanoTime() - sinceNanos;
    }

    private Map<String, String> stateFile(int n) throws Exception {
        Map<String, String> m = new LinkedHashMap<>();
        Cmd.Result r = onNode(n, "cat /run/repl/r0.state");
        for (String line : r.out().split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return m;
    }

    private boolean fenced(int n) throws Exception {
        return onNode(n, "cibadmin -Q -o constraints").out().contains("repl-fence-by-handler-r0-repl-r0-clone");
    }

    private static Path tarball() throws IOException {
        try (Stream<Path> s = Files.list(AgentProcess.ROOT.resolve("repl-agent/target"))) {
            return s.filter(p -> p.getFileName().toString().matches("repl-.*\\.tar\\.gz")).findFirst()
                    .orElseThrow(() -> new AssertionError("no release tarball in repl-agent/target: run ./mvnw verify"));
        }
    }

    @Test
    void killThePromotedNodeEveryAcknowledgedWriteSurvivesASwitchoverMovesItBackAndAFailoverFollows() throws Exception {
        for (String tool : new String[] {"corosync", "pacemakerd", "crm", "cibadmin", "crm_resource", "nbdfuse",
                "losetup", "mkfs.ext4", "curl", "modprobe"}) {
            assertTrue(Cmd.available(tool), tool + " is missing: .ci/run installs pacemaker corosync crmsh "
                    + "resource-agents nbdfuse kmod curl");
        }
        Path opt = Files.createDirectories(dir.resolve("opt-repl"));
        Cmd.run("tar", "xzf", tarball().toString(), "-C", opt.toString(), "--strip-components=1").ok();
        env = new LinkedHashMap<>();
        env.put("PCMK_DIR", dir.resolve("cluster").toString());
        env.put("TOKEN", "1000");
        // Inside each node: the tarball as /opt/repl, its OCF agent where install.sh puts it, the
        // test's own agent and service, and /etc/repl, /var/lib/repl and /srv of the node's own.
        env.put("PCMK_NODE_BINDS", String.join(" ",
                opt + ":/opt/repl",
                opt.resolve("ocf") + ":/usr/lib/ocf/resource.d/repl",
                SCRIPTS.resolve("ocf") + ":/usr/lib/ocf/resource.d/repltest",
                SCRIPTS + ":/opt/repl-test",
                dir.resolve("node%N/etc-repl") + ":/etc/repl",
                dir.resolve("node%N/var-lib-repl") + ":/var/lib/repl",
                dir.resolve("node%N/srv") + ":/srv"));
        boolean passed = false;
        try {
            long t = System.nanoTime();
            cluster(180, "up").ok();
            report("cluster up in " + (System.nanoTime() - t) / 1_000_000 + " ms");
            for (int n = 1; n <= 2; n++) {
                Files.writeString(dir.resolve("node" + n + "/etc-repl/r0.toml"), guideBlock("r0.toml"));
                try (var ch = java.nio.channels.FileChannel.open(dir.resolve("node" + n + "/var-lib-repl/r0.img"),
                        java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
                    ch.truncate(64L << 20);
                    ch.write(java.nio.ByteBuffer.wrap(new byte[1]), (64L << 20) - 1);
                }
            }
            onNode(1, guideBlock("both-nodes")).ok();
            onNode(2, guideBlock("both-nodes")).ok();
            onNode(1, guideBlock("node1-initial")).ok();
            onNode(1, guideBlock("crm-clone")).ok();
            onNode(1, guideBlock("crm-stack")).ok();
            t = System.nanoTime();
            // Both nodes have the same score: Pacemaker promotes either; a is the first Primary, b the other.
            int first = 0;
            for (long deadline = t + 180_000_000_000L; first == 0; Thread.sleep(200)) {
                first = "node1".equals(health(2, ADDRESS[1])) ? 1 : "node2".equals(health(1, ADDRESS[2])) ? 2 : 0;
                if (first == 0 && System.nanoTime() - deadline > 0) {
                    throw new AssertionError("the service did not start:\n" + onNode(1, "crm_mon -1 -r").out());
                }
            }
            int a = first;
            int b = 3 - a;
            report("stack started on node" + a + " in " + (System.nanoTime() - t) / 1_000_000
                    + " ms after configuring it");
            assertTrue(onNode(a, "crm_mon -1 -r").out().contains("Promoted: [ node" + a + " ]"));

            // A client on the other node stores files on the service until its node dies.
            Map<String, String> acked = new LinkedHashMap<>();
            AtomicBoolean stop = new AtomicBoolean();
            List<Throwable> writerFailed = new ArrayList<>();
            int client = b;
            String primary = ADDRESS[a];
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 0; !stop.get(); i++) {
                        String content = "file " + i + " written at " + System.nanoTime();
                        if ("stored\n".equals(curl(client, "-X", "PUT", "--data-binary", content,
                                "http://" + primary + ":8080/f/w" + i))) {
                            synchronized (acked) {
                                acked.put("w" + i, content);
                            }
                        }
                    }
                } catch (Throwable e) {
                    writerFailed.add(e);
                }
            }, "writer");
            writer.start();
            NbdClientsIT.waitFor(() -> {
                synchronized (acked) {
                    return acked.size() >= 20;
                }
            }, "20 files stored on node" + a, 120);

            long killed = System.nanoTime();
            cluster(60, "kill", Integer.toString(a)).ok();
            stop.set(true);
            writer.join();
            assertTrue(writerFailed.isEmpty(), writerFailed.toString());
            for (String loop : readLoops(a)) {
                Cmd.run("losetup", "-d", loop);
            }
            long failover = untilServed(b, ADDRESS[b], "node" + b, killed, 180);
            report("failover: the service answered on node" + b + " " + failover / 1_000_000 + " ms after node" + a
                    + " was killed (TOKEN=1000)");
            report(acked.size() + " files acknowledged before the kill");
            timeline(b, "failover");
            for (Map.Entry<String, String> e : acked.entrySet()) {
                assertEquals(e.getValue(), curl(b, "http://" + ADDRESS[b] + ":8080/f/" + e.getKey()),
                        "acknowledged file " + e.getKey() + " on node" + b + ", the new Primary");
            }
            assertEquals("Primary", stateFile(b).get("role"));
            assertTrue(fenced(b), "crm-fence-peer's constraint is in the CIB");

            // The old Primary returns: Pacemaker starts the repl agent there, it resyncs, the fence is lifted.
            t = System.nanoTime();
            cluster(60, "start", Integer.toString(a)).ok();
            NbdClientsIT.waitFor(() -> {
                Map<String, String> st = stateFile(a);
                return "Secondary".equals(st.get("role")) && "UpToDate".equals(st.get("disk"))
                        && "Established".equals(st.get("replication"));
            }, "node" + a + " back as an UpToDate Secondary", 180);
            report("node" + a + " back in sync " + (System.nanoTime() - t) / 1_000_000 + " ms after its cluster start");
            NbdClientsIT.waitFor(() -> !fenced(b), "crm-unfence-peer removed the constraint", 60);

            // A switchover (the guide's command, for node a) moves everything back.
            t = System.nanoTime();
            onNode(a, guideBlock("switchover").replace("node1", "node" + a)).ok();
            long switchover = untilServed(b, ADDRESS[a], "node" + a, t, 180);
            report("switchover: the service answered on node" + a + " " + switchover / 1_000_000
                    + " ms after the move");
            timeline(a, "switchover");
            onNode(a, guideBlock("clear")).ok();
            assertEquals("Primary", stateFile(a).get("role"));
            assertEquals("Secondary", stateFile(b).get("role"));
            for (Map.Entry<String, String> e : acked.entrySet()) {
                assertEquals(e.getValue(), curl(b, "http://" + ADDRESS[a] + ":8080/f/" + e.getKey()),
                        "acknowledged file " + e.getKey() + " on node" + a + " after the switchover");
            }
            assertFalse(fenced(a));

            // The switchover demoted node b while connected: its goodbye, which node a's promotion
            // voided on both sides. So node a's death now is an ordinary loss, and node b takes
            // over again without an operator.
            killed = System.nanoTime();
            cluster(60, "kill", Integer.toString(a)).ok();
            for (String loop : readLoops(a)) {
                Cmd.run("losetup", "-d", loop);
            }
            long second = untilServed(b, ADDRESS[b], "node" + b, killed, 180);
            report("second failover, after the switchover: the service answered on node" + b + " "
                    + second / 1_000_000 + " ms after node" + a + " was killed");
            assertEquals("Primary", stateFile(b).get("role"));
            for (Map.Entry<String, String> e : acked.entrySet()) {
                assertEquals(e.getValue(), curl(b, "http://" + ADDRESS[b] + ":8080/f/" + e.getKey()),
                        "acknowledged file " + e.getKey() + " on node" + b + " after the second failover");
            }
            passed = true;
        } catch (Throwable e) {
            for (int n = 1; n <= 2; n++) {
                Path log = dir.resolve("node" + n + "/var-lib-repl/agent.log");
                if (Files.exists(log)) {
                    List<String> lines = Files.readAllLines(log);
                    System.out.println("--- node" + n + " repl agent ---\n"
                            + String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size())));
                }
            }
            throw e;
        } finally {
            Cmd.Result down = cluster(120, "down");
            boolean gone = !Cmd.run("ip", "netns", "list").out().contains("pcmk");
            for (int n = 1; n <= 2; n++) {
                for (String loop : readLoops(n)) {
                    Cmd.run("losetup", "-d", loop);
                }
            }
            if (passed && (down.exit() != 0 || !gone)) {
                throw new AssertionError("cluster down left the namespaces behind: " + down);
            }
        }
    }

    /** Where the time went: node {@code n}'s Pacemaker log lines of lost nodes and finished actions. */
    private void timeline(int n, String what) throws IOException {
        Path log = dir.resolve("cluster/n" + n + "/log-pacemaker/pacemaker.log");
        if (!Files.exists(log)) {
            return;
        }
        List<String> lines = Files.readAllLines(log, java.nio.charset.StandardCharsets.ISO_8859_1);
        StringBuilder b = new StringBuilder();
        for (String l : lines.subList(Math.max(0, lines.size() - 3000), lines.size())) {
            if (l.contains("pacemaker-controld") && (l.contains("is now lost") || l.contains("Result of start")
                    || l.contains("Result of promote") || l.contains("Result of demote") || l.contains("Result of stop"))) {
                b.append("\n  ").append(l.length() > 160 ? l.substring(0, 160) : l);
            }
        }
        report(what + " as node" + n + "'s Pacemaker saw it (last lines):" + tail(b.toString(), 14));
    }

    private static String tail(String text, int lines) {
        String[] all = text.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(all, Math.max(0, all.length - lines), all.length));
    }

    /** The loop devices node {@code n}'s nbdloop resource set up and not yet detached. */
    private List<String> readLoops(int n) throws IOException {
        Path f = dir.resolve("node" + n + "/var-lib-repl/loops");
        if (!Files.exists(f)) {
            return List.of();
        }
        List<String> loops = Files.readAllLines(f);
        Files.delete(f);
        return loops;
    }
}
