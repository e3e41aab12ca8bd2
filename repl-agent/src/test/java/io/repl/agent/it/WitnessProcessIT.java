package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.repl.agent.config.HostPort;
import io.repl.agent.witness.WitnessLink;
import io.repl.agent.witness.WitnessLinkConfig;
import io.repl.protocol.Message;
import io.repl.protocol.WitnessReport;
import io.repl.protocol.WitnessRequest;
import io.repl.protocol.WitnessVerdict;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The witness as an operator runs it, {@code bin/repl-agent --witness}, driven by two
 * {@link WitnessLink}s in this JVM playing the nodes: a grant survives {@code kill -9}, a bad
 * file does not stop the good one, and the command line refuses what makes no sense.
 */
@Timeout(180)
class WitnessProcessIT {
    private static final long WAIT_SECONDS = 60;
    private static final String SECRET = "change-me";
    private static final long G1 = 0x1111_0000_0000_0001L;
    private static final long G2 = 0x2222_0000_0000_0002L;
    private static final long G3 = 0x3333_0000_0000_0003L;

    @TempDir
    Path dir;
    private EventLoopGroup group;
    private AgentProcess witness;
    private WitnessLink alpha;
    private WitnessLink beta;

    @BeforeEach
    void setUp() {
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    }

    @AfterEach
    void tearDown() throws Exception {
        for (WitnessLink l : new WitnessLink[] {alpha, beta}) {
            if (l != null) {
                l.close();
            }
        }
        if (witness != null) {
            witness.close();
        }
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String pair(int witnessPort, boolean withWitness) {
        return String.join("\n",
                "[net]",
                "shared-secret = \"" + SECRET + "\"",
                "ping-interval = \"1s\"",
                "ping-timeout = \"1s\"",
                "connect-retry = \"200ms\"",
                "timeout = \"3s\"",
                withWitness ? "[witness]\naddress = \"127.0.0.1:" + witnessPort + "\"" : "",
                "[node.alpha]",
                "address = \"10.99.0.1:7789\"",
                "disk = \"/srv/r0.img\"",
                "[node.beta]",
                "address = \"10.99.0.2:7789\"",
                "disk = \"/srv/r0.img\"",
                "");
    }

    private WitnessLink link(String node, int port, Node listener) {
        WitnessLinkConfig c = new WitnessLinkConfig("r0", node, new HostPort("127.0.0.1", port),
                SECRET.getBytes(StandardCharsets.UTF_8), Duration.ofMillis(200), Duration.ofSeconds(3),
                Duration.ofSeconds(1), Duration.ofSeconds(1));
        return WitnessLink.start(group.next(), c, listener);
    }

    @Test
    void aGrantSurvivesKillDashNineAndABadFileDoesNotStopTheGoodOne() throws Exception {
        int port = freePort();
        // Ready when the port answers (which also holds after the restart below, when the log
        // already has a "listening" line) and the log says so.
        witness = AgentProcess.witness(dir, null, Map.of(), AgentProcess.aliveFor(Duration.ofSeconds(1))
                .and(AgentProcess.acceptsTcp("127.0.0.1", port)).and(AgentProcess.logLine("witness", "listening")));
        witness.writeConfig("r0", pair(port, true));
        witness.writeConfig("plain", pair(port, false));
        witness.writeConfig("bad", "[witness\naddress = ");
        witness.start();
        String log = witness.log();
        assertTrue(log.contains("witness bad: not served: ") && log.contains("bad.toml: not valid TOML"), log);
        assertTrue(log.contains("witness plain: not served: ") && log.contains("has no [witness] section"), log);
        assertTrue(log.lines().anyMatch(l -> l.contains("witness listening on") && l.contains(":" + port)), log);

        Node a = new Node();
        Node b = new Node();
        alpha = link("alpha", port, a);
        beta = link("beta", port, b);
        a.awaitConnections(1);
        b.awaitConnections(1);
        alpha.send(new WitnessReport(G1, WitnessReport.IN_SYNC, List.of()));
        assertEquals(WitnessVerdict.Outcome.IGNORED, a.awaitVerdict().outcome(), "waits for beta's report");
        beta.send(new WitnessReport(G1, WitnessReport.IN_SYNC, List.of()));
        assertEquals(WitnessVerdict.Outcome.GRANTED, b.awaitVerdict().outcome());
        // The record changed with beta's report, and the witness tells alpha so.
        WitnessVerdict notice = a.awaitNotice();
        assertEquals(G1, notice.generation(), notice.toString());
        assertTrue(notice.detail().startsWith("record now 1111000000000001 held by alpha and beta"), notice.detail());
        alpha.send(new WitnessRequest(5, WitnessRequest.Kind.OUTDATE_PEER, 0, G1, G2));
        WitnessVerdict granted = a.awaitVerdict();
        assertEquals(WitnessVerdict.Outcome.GRANTED, granted.outcome(), granted.detail());
        assertEquals(G2, granted.generation());
        WitnessVerdict toBeta = b.awaitNotice();
        assertEquals(G2, toBeta.generation(), toBeta.toString());
        assertEquals("record now 2222000000000002 held by alpha (after alpha's outdate-peer)", toBeta.detail());

        // The grant was answered, so it is on the witness's disk: kill -9 cannot take it back.
        witness.kill();
        a.awaitDisconnections(1);
        b.awaitDisconnections(1);
        witness.start();
        a.awaitConnections(2);
        b.awaitConnections(2);
        assertTrue(witness.log().contains("witness r0: serving nodes alpha and beta at 127.0.0.1:" + port
                + "; record: 2222000000000002 held by alpha"), witness.log());

        alpha.send(new WitnessRequest(5, WitnessRequest.Kind.OUTDATE_PEER, 0, G1, G2));
        WitnessVerdict again = a.awaitVerdict();
        assertEquals(WitnessVerdict.Outcome.GRANTED, again.outcome(), again.detail());
        assertTrue(again.detail().contains("already"), again.detail());
        beta.send(new WitnessRequest(9, WitnessRequest.Kind.OUTDATE_PEER, 0, G1, G3));
        WitnessVerdict deposed = b.awaitVerdict();
        assertEquals(WitnessVerdict.Outcome.DEPOSED, deposed.outcome(), deposed.detail());
        assertEquals(G2, deposed.generation());

        assertEquals(143, witness.stop(), "SIGTERM");
        assertTrue(witness.log().contains("witness: stopped"), witness.log());
        a.awaitDisconnections(2);
    }

    @Test
    void theWitnessTakesNoNodeName() throws Exception {
        Cmd.Result r = Cmd.run(Map.of(), 60, AgentProcess.ROOT.resolve("bin/repl-agent").toString(), "--witness",
                "--node", "alpha", "--config-dir", dir.toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--node cannot be used with --witness"), r.err());
    }

    @Test
    void theWitnessExitsOneWhenItCannotListenAnywhere() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            Path conf = Files.createDirectories(dir.resolve("conf"));
            Files.writeString(conf.resolve("r0.toml"), pair(taken.getLocalPort(), true));
            Cmd.Result r = Cmd.run(Map.of(), 60, AgentProcess.ROOT.resolve("bin/repl-agent").toString(), "--witness",
                    "--config-dir", conf.toString(), "--state-dir", dir.resolve("state").toString());
            assertEquals(1, r.exit(), r.err());
            assertTrue(r.err().contains("witness: cannot listen on 127.0.0.1:" + taken.getLocalPort()), r.err());
        }
    }

    /** A node's side of the link: records what the witness says. */
    private static final class Node implements WitnessLink.Listener {
        final AtomicInteger connections = new AtomicInteger();
        final AtomicInteger disconnections = new AtomicInteger();
        final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
        final java.util.Queue<WitnessVerdict> notices = new java.util.ArrayDeque<>();

        @Override
        public void onConnected() {
            connections.incrementAndGet();
        }

        @Override
        public void onMessage(Message m) {
            messages.add(m);
        }

        @Override
        public void onDisconnected(String reason) {
            disconnections.incrementAndGet();
        }

        void awaitConnections(int n) throws InterruptedException {
            await(() -> connections.get() >= n, n + " connections to the witness");
        }

        void awaitDisconnections(int n) throws InterruptedException {
            await(() -> disconnections.get() >= n, n + " disconnections from the witness");
        }

        /** The next answer to a request or report: notices (request id 0) go aside. */
        WitnessVerdict awaitVerdict() throws InterruptedException {
            while (true) {
                Message m = messages.poll(WAIT_SECONDS, TimeUnit.SECONDS);
                if (!(m instanceof WitnessVerdict v)) {
                    throw new AssertionError("expected a verdict within " + WAIT_SECONDS + " s, got " + m);
                }
                if (v.requestId() != 0 || !v.detail().startsWith("record now ")) {
                    return v;
                }
                notices.add(v);
            }
        }

        /** The next notice that the record changed by the other node's doing. */
        WitnessVerdict awaitNotice() throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            while (notices.isEmpty()) {
                Message m = messages.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (!(m instanceof WitnessVerdict v) || v.requestId() != 0 || !v.detail().startsWith("record now ")) {
                    throw new AssertionError("expected a notice within " + WAIT_SECONDS + " s, got " + m);
                }
                notices.add(v);
            }
            return notices.remove();
        }

        private static void await(BooleanSupplier condition, String what)
                throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            while (!condition.getAsBoolean()) {
                if (System.nanoTime() - deadline > 0) {
                    throw new AssertionError("timed out waiting for " + what);
                }
                Thread.sleep(20);
            }
        }
    }
}
