package io.repl.agent.witness;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.repl.agent.config.HostPort;
import io.repl.agent.testing.LogCapture;
import io.repl.protocol.Message;
import io.repl.protocol.WitnessReport;
import io.repl.protocol.WitnessRequest;
import io.repl.protocol.WitnessVerdict;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Shared by the witness tests: resource files, link configurations, a recording listener, the log. */
final class WitnessFixture {
    static final long WAIT_SECONDS = 20;
    static final String SECRET = "change-me";
    private static final LogCapture CAPTURE = new LogCapture(System.err);

    static {
        // The agent's System.Logger writes whole lines to System.err; read them there.
        System.setErr(new PrintStream(CAPTURE, true, StandardCharsets.UTF_8));
    }

    private WitnessFixture() {
    }

    static EventLoopGroup group() {
        return new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
    }

    /** A port nobody listens on right now; the witness binds it with SO_REUSEADDR. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * A pair {@code alpha}/{@code beta} whose witness listens on 127.0.0.1:{@code witnessPort};
     * the witness drops a node silent for one second.
     */
    static String pairToml(int witnessPort) {
        return String.join("\n",
                "[net]",
                "shared-secret = \"" + SECRET + "\"",
                "ping-interval = \"500ms\"",
                "ping-timeout = \"500ms\"",
                "connect-retry = \"100ms\"",
                "timeout = \"2s\"",
                "[witness]",
                "address = \"127.0.0.1:" + witnessPort + "\"",
                "[node.alpha]",
                "address = \"127.0.0.1:17001\"",
                "disk = \"/srv/alpha.img\"",
                "[node.beta]",
                "address = \"127.0.0.1:17002\"",
                "disk = \"/srv/beta.img\"",
                "");
    }

    static Path write(Path dir, String resource, String toml) throws IOException {
        Files.createDirectories(dir);
        return Files.writeString(dir.resolve(resource + ".toml"), toml);
    }

    /** The link configuration of {@code node}, with the timers of {@link #pairToml}. */
    static WitnessLinkConfig link(String resource, String node, int witnessPort) {
        return link(resource, node, witnessPort, SECRET, Duration.ofMillis(500));
    }

    static WitnessLinkConfig link(String resource, String node, int witnessPort, String secret,
                                  Duration pingInterval) {
        return new WitnessLinkConfig(resource, node, new HostPort("127.0.0.1", witnessPort),
                secret.getBytes(StandardCharsets.UTF_8), Duration.ofMillis(100), Duration.ofSeconds(2), pingInterval,
                Duration.ofMillis(500));
    }

    static WitnessReport inSync(long current, Long... ancestors) {
        return new WitnessReport(current, WitnessReport.IN_SYNC, List.of(ancestors));
    }

    static WitnessRequest request(long id, WitnessRequest.Kind kind, long previous, long next) {
        return new WitnessRequest(id, kind, 0, previous, next);
    }

    /** Waits for a condition, failing with {@code what} after {@link #WAIT_SECONDS}. */
    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(5);
        }
    }

    /** Log lines from now on. */
    static List<String> logLines() {
        return CAPTURE.lines;
    }

    static boolean logged(String... parts) {
        return CAPTURE.lines.stream().anyMatch(l -> List.of(parts).stream().allMatch(l::contains));
    }

    static void awaitLogged(String... parts) throws InterruptedException {
        await("a log line with " + List.of(parts), () -> logged(parts));
    }

    /** A link listener that records every call, so tests can wait for them. */
    static final class Recorder implements WitnessLink.Listener {
        final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
        final List<String> events = new CopyOnWriteArrayList<>();
        final List<Thread> threads = new CopyOnWriteArrayList<>();

        @Override
        public void onConnected() {
            threads.add(Thread.currentThread());
            events.add("connected");
        }

        @Override
        public void onMessage(Message m) {
            threads.add(Thread.currentThread());
            messages.add(m);
        }

        @Override
        public void onDisconnected(String reason) {
            threads.add(Thread.currentThread());
            events.add("disconnected: " + reason);
        }

        long count(String prefix) {
            return events.stream().filter(e -> e.startsWith(prefix)).count();
        }

        void awaitConnections(long n) throws InterruptedException {
            await(n + " onConnected (events: " + events + ")", () -> count("connected") >= n);
        }

        void awaitDisconnections(long n) throws InterruptedException {
            await(n + " onDisconnected (events: " + events + ")", () -> count("disconnected") >= n);
        }

        Message awaitMessage() throws InterruptedException {
            Message m = messages.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            if (m == null) {
                throw new AssertionError("no message from the witness within " + WAIT_SECONDS + " s; events: "
                        + events);
            }
            return m;
        }

        WitnessVerdict awaitVerdict() throws InterruptedException {
            Message m = awaitMessage();
            if (!(m instanceof WitnessVerdict v)) {
                throw new AssertionError("expected a verdict, got " + m);
            }
            return v;
        }
    }
}
