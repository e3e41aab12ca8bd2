package io.repl.agent.it;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Two real agents, alpha and beta, each with its own disk file, mirroring one resource r0
 * over loopback TCP (or, with {@link #hosts}, over addresses in network namespaces).
 */
final class PairFixture implements AutoCloseable {
    final Path dir;
    final AgentProcess alpha;
    final AgentProcess beta;
    final long diskBytes;

    PairFixture(Path dir, long diskBytes, String protocol) throws Exception {
        this(dir, diskBytes, protocol, "s3cret", "s3cret", "127.0.0.1", "127.0.0.1", null, null);
    }

    PairFixture(Path dir, long diskBytes, String protocol, String secretAlpha, String secretBeta, String hostAlpha,
                String hostBeta, String netnsAlpha, String netnsBeta) throws Exception {
        this(dir, diskBytes, protocol, secretAlpha, secretBeta, hostAlpha, hostBeta, netnsAlpha, netnsBeta, "");
    }

    /** A loopback pair whose [net] tables also hold {@code netLine} (one TOML line, or empty). */
    static PairFixture withNet(Path dir, long diskBytes, String protocol, String netLine) throws Exception {
        return new PairFixture(dir, diskBytes, protocol, "s3cret", "s3cret", "127.0.0.1", "127.0.0.1", null, null,
                netLine);
    }

    private PairFixture(Path dir, long diskBytes, String protocol, String secretAlpha, String secretBeta,
                        String hostAlpha, String hostBeta, String netnsAlpha, String netnsBeta, String netLine)
            throws Exception {
        this.dir = dir;
        this.diskBytes = diskBytes;
        int portA = freePort();
        int portB = freePort();
        alpha = new AgentProcess(dir, "alpha", java.util.Map.of(), netnsAlpha);
        beta = new AgentProcess(dir, "beta", java.util.Map.of(), netnsBeta);
        for (AgentProcess a : new AgentProcess[] {alpha, beta}) {
            Files.createFile(disk(a));
            try (var ch = java.nio.channels.FileChannel.open(disk(a), java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(diskBytes);
                ch.write(java.nio.ByteBuffer.wrap(new byte[1]), diskBytes - 1);
            }
            String secret = a == alpha ? secretAlpha : secretBeta;
            a.writeConfig("r0", String.join("\n",
                    "protocol = \"" + protocol + "\"",
                    "[net]",
                    "shared-secret = \"" + secret + "\"",
                    "connect-retry = \"200ms\"",
                    "ping-interval = \"1s\"",
                    "ping-timeout = \"1s\"",
                    netLine,
                    "[node.alpha]",
                    "address = \"" + hostAlpha + ":" + portA + "\"",
                    "disk = \"" + disk(alpha) + "\"",
                    "nbd-socket = \"" + socket(alpha) + "\"",
                    "[node.beta]",
                    "address = \"" + hostBeta + ":" + portB + "\"",
                    "disk = \"" + disk(beta) + "\"",
                    "nbd-socket = \"" + socket(beta) + "\"",
                    ""));
        }
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    Path disk(AgentProcess a) {
        return dir.resolve(a.node + "-disk.img");
    }

    Path socket(AgentProcess a) {
        return dir.resolve(a.node + "-r0.nbd");
    }

    String uri(AgentProcess a) {
        return "nbd+unix:///r0?socket=" + socket(a);
    }

    /** Starts both agents, creates metadata on both, brings r0 up and waits for the connection. */
    PairFixture startConnected() throws Exception {
        alpha.start();
        beta.start();
        for (AgentProcess a : new AgentProcess[] {alpha, beta}) {
            a.ctl("create-md", "r0").ok();
            a.ctl("up", "r0").ok();
        }
        alpha.ctl("wait-connect", "r0", "--timeout", "60").ok();
        beta.ctl("wait-connect", "r0", "--timeout", "60").ok();
        return this;
    }

    /**
     * As {@link #startConnected}, for tests that do not test replctl: the agents start at once
     * and the steps go to their control sockets directly (each bin/replctl is a JVM start of a
     * second or more); returns once the handshake is over on both.
     */
    PairFixture startConnectedOnSockets() throws Exception {
        startConnectedOnSockets(alpha, beta, "r0");
        return this;
    }

    /**
     * Starts {@code alpha} and {@code beta} at once (each takes seconds to start), creates
     * metadata for {@code resource} on both and brings it up, on the control sockets directly,
     * and waits until both are Connected with the handshake over: replication leaves Off when it
     * ends, and commands then see the peer's state.
     */
    static void startConnectedOnSockets(AgentProcess alpha, AgentProcess beta, String resource) throws Exception {
        java.util.concurrent.FutureTask<AgentProcess> betaStarted = new java.util.concurrent.FutureTask<>(beta::start);
        new Thread(betaStarted, "start-" + beta.node).start();
        alpha.start();
        try {
            betaStarted.get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw (Exception) e.getCause();
        }
        for (AgentProcess a : new AgentProcess[] {alpha, beta}) {
            a.ctlNow("create-md", resource, java.util.Map.of("force", false));
            a.ctlNow("up", resource, java.util.Map.of());
        }
        NbdClientsIT.waitFor(() -> {
            for (AgentProcess a : new AgentProcess[] {alpha, beta}) {
                JsonNode s = a.statusNow(resource);
                if (!"Connected".equals(s.path("connection").asText()) || "Off".equals(s.path("replication").asText())) {
                    return false;
                }
            }
            return true;
        }, "both Connected, states exchanged", 60);
    }

    /** Makes alpha Primary with --force and waits for the full initial sync to finish. */
    PairFixture initialSync() throws Exception {
        alpha.ctl("primary", "--force", "r0").ok();
        waitSynced();
        return this;
    }

    /**
     * Waits until both are Connected with no resync running (what {@code replctl wait-sync}
     * waits for, asked on the control sockets) and both disks are UpToDate.
     */
    void waitSynced() throws Exception {
        for (AgentProcess a : new AgentProcess[] {alpha, beta}) {
            try {
                NbdClientsIT.waitFor(() -> {
                    JsonNode s = status(a);
                    String replication = s.path("replication").asText();
                    return "Connected".equals(s.path("connection").asText()) && ("Established".equals(replication)
                            || "VerifyS".equals(replication) || "VerifyT".equals(replication));
                }, a.node + " Connected/Established", 120);
            } catch (AssertionError e) {
                throw new AssertionError(a.node + " did not finish syncing: " + e.getMessage() + "\n--- alpha ---\n"
                        + tail(alpha.log()) + "\n--- beta ---\n" + tail(beta.log()), e);
            }
        }
        NbdClientsIT.waitFor(() -> "UpToDate".equals(status(beta).path("disk").asText())
                && "UpToDate".equals(status(alpha).path("disk").asText()), "both disks UpToDate");
    }

    private static String tail(String log) {
        String[] lines = log.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(lines, Math.max(0, lines.length - 80), lines.length));
    }

    /** r0's status record, asked on the control socket directly. */
    JsonNode status(AgentProcess a) throws Exception {
        return a.statusNow("r0");
    }

    long dataBytes() throws Exception {
        return status(alpha).path("sizeBytes").asLong();
    }

    /** SHA-256 of the first {@code bytes} of a node's backing file: the replicated data area. */
    String dataHash(AgentProcess a, long bytes) throws Exception {
        return sha256(disk(a), bytes);
    }

    /** SHA-256 of the first {@code bytes} of {@code file}. */
    static String sha256(Path file, long bytes) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            long left = bytes;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    break;
                }
                md.update(buf, 0, n);
                left -= n;
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @Override
    public void close() throws Exception {
        alpha.close();
        beta.close();
    }
}
