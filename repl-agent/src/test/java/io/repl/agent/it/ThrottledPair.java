package io.repl.agent.it;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Two agents, alpha and beta, mirroring resource r0 over a slow link: each node listens on its
 * own port and reaches the other through a {@link ThrottlingProxy}, so that whichever connection
 * the pair keeps, every byte crosses a link of {@code bytesPerSecond} in each direction.
 */
final class ThrottledPair implements AutoCloseable {
    final Path dir;
    final AgentProcess alpha;
    final AgentProcess beta;
    private final ThrottlingProxy toAlpha;
    private final ThrottlingProxy toBeta;

    /**
     * Sparse backing files of {@code diskBytes} and r0's config on both nodes, with
     * {@code protocol} and {@code netLines} in its {@code [net]}; the agents are not started.
     */
    ThrottledPair(Path dir, long diskBytes, long bytesPerSecond, String protocol, String... netLines)
            throws Exception {
        this.dir = dir;
        alpha = new AgentProcess(dir, "alpha");
        beta = new AgentProcess(dir, "beta");
        int portA = PairFixture.freePort();
        int portB = PairFixture.freePort();
        toBeta = new ThrottlingProxy(portB, bytesPerSecond);
        toAlpha = new ThrottlingProxy(portA, bytesPerSecond);
        for (AgentProcess n : new AgentProcess[] {alpha, beta}) {
            try (FileChannel ch = FileChannel.open(disk(n), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[1]), diskBytes - 1);
            }
            int alphaAt = n == alpha ? portA : toAlpha.port();
            int betaAt = n == beta ? portB : toBeta.port();
            List<String> lines = new ArrayList<>(List.of("protocol = \"" + protocol + "\"", "[net]",
                    "shared-secret = \"s3cret\"", "connect-retry = \"200ms\""));
            lines.addAll(List.of(netLines));
            lines.addAll(List.of(
                    "[node.alpha]",
                    "address = \"127.0.0.1:" + alphaAt + "\"",
                    "disk = \"" + disk(alpha) + "\"",
                    "nbd-socket = \"" + socket(alpha) + "\"",
                    "[node.beta]",
                    "address = \"127.0.0.1:" + betaAt + "\"",
                    "disk = \"" + disk(beta) + "\"",
                    "nbd-socket = \"" + socket(beta) + "\"",
                    ""));
            n.writeConfig("r0", String.join("\n", lines));
        }
    }

    Path disk(AgentProcess n) {
        return dir.resolve(n.node + ".img");
    }

    Path socket(AgentProcess n) {
        return dir.resolve(n.node + ".nbd");
    }

    String uri(AgentProcess n) {
        return "nbd+unix:///r0?socket=" + socket(n);
    }

    /**
     * Starts both agents (at once: each takes seconds to start), creates metadata on both, brings
     * r0 up and waits for the connection and its handshake. The steps go to the control sockets directly.
     */
    ThrottledPair startConnected() throws Exception {
        PairFixture.startConnectedOnSockets(alpha, beta, "r0");
        return this;
    }

    JsonNode status(AgentProcess n) throws Exception {
        return n.statusNow("r0");
    }

    @Override
    public void close() throws Exception {
        try (ThrottlingProxy a = toAlpha; ThrottlingProxy b = toBeta; AgentProcess x = alpha; AgentProcess y = beta) {
            // closes all four, the agents first
        }
    }
}
