package io.repl.agent.peer;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.repl.agent.config.HostPort;
import io.repl.agent.testing.LogCapture;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Shared helpers: an event loop group, free ports, configurations and a log capture. */
final class Fixture {
    static final String RESOURCE = "r0";
    static final byte[] SECRET = "change-me".getBytes(StandardCharsets.UTF_8);
    private static final LogCapture CAPTURE = new LogCapture(System.err);

    static {
        // The agent's System.Logger writes whole lines to System.err; read them there.
        System.setErr(new PrintStream(CAPTURE, true, StandardCharsets.UTF_8));
    }

    private Fixture() {
    }

    static EventLoopGroup group() {
        return new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
    }

    /** A port nobody listens on right now; the link binds it with SO_REUSEADDR. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static PeerLinkConfig config(String local, String peer, int localPort, int peerPort, boolean lz4) {
        return new PeerLinkConfig(RESOURCE, local, peer, new HostPort("127.0.0.1", localPort),
                new HostPort("127.0.0.1", peerPort), SECRET, lz4, Duration.ofSeconds(2), Duration.ofSeconds(5),
                Duration.ofMillis(100), Duration.ofSeconds(3), 1 << 20, 4 << 20);
    }

    static PeerLinkConfig withResource(PeerLinkConfig c, String resource) {
        return new PeerLinkConfig(resource, c.localNode(), c.peerNode(), c.listenAddress(), c.peerAddress(),
                c.sharedSecret(), c.lz4(), c.pingInterval(), c.pingTimeout(), c.connectRetry(), c.timeout(),
                c.writeBufferLowBytes(), c.writeBufferHighBytes());
    }

    static PeerLinkConfig withTimeout(PeerLinkConfig c, Duration timeout) {
        return new PeerLinkConfig(c.resource(), c.localNode(), c.peerNode(), c.listenAddress(), c.peerAddress(),
                c.sharedSecret(), c.lz4(), c.pingInterval(), c.pingTimeout(), c.connectRetry(), timeout,
                c.writeBufferLowBytes(), c.writeBufferHighBytes());
    }

    /** Waits for a condition, failing with {@code what} after a generous limit. */
    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Recorder.WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(5);
        }
    }

    /** Log lines of the peer package from now on. */
    static List<String> logLines() {
        return CAPTURE.lines;
    }

    static boolean logged(String text) {
        return CAPTURE.lines.stream().anyMatch(l -> l.contains(text));
    }
}
