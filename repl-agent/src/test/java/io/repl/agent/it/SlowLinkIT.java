package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two agents whose link runs at 10 MB/s through {@link ThrottlingProxy}, written to as fast as
 * fio can: the Primary holds its client back to the link's pace (protocol C by waiting for
 * acknowledgements, protocol A by the link's backpressure), its memory stays bounded, and the
 * copies end identical. {@code -Drepl.slowlink.mib=1024} writes the full gibibyte; the
 * default keeps the build short.
 */
class SlowLinkIT {
    private static final long LINK_BYTES_PER_SECOND = 10_000_000L;
    private static final long WRITE_MIB = Long.getLong("repl.slowlink.mib", 192);
    /**
     * The agent's resident memory may not pass this while the client writes faster than the
     * link: its heap is capped at 256 MiB and its direct memory at 512 MiB, and backpressure
     * must keep it far below both (without it, protocol A fills the heap with payload copies).
     */
    private static final long RSS_BOUND_BYTES = 448L << 20;
    private static final long DISK = (WRITE_MIB + 64) << 20;
    @TempDir
    Path dir;

    @ParameterizedTest(name = "protocol {0}")
    @ValueSource(strings = {"C", "A"})
    void aFastClientOnASlowLinkIsHeldToItsPaceWithBoundedMemory(String protocol) throws Exception {
        AgentProcess alpha = new AgentProcess(dir, "alpha");
        AgentProcess beta = new AgentProcess(dir, "beta");
        int portA = PairFixture.freePort();
        int portB = PairFixture.freePort();
        try (ThrottlingProxy toBeta = new ThrottlingProxy(portB, LINK_BYTES_PER_SECOND);
             ThrottlingProxy toAlpha = new ThrottlingProxy(portA, LINK_BYTES_PER_SECOND);
             AgentProcess a = alpha; AgentProcess b = beta) {
            for (AgentProcess n : new AgentProcess[] {alpha, beta}) {
                Path disk = dir.resolve(n.node + ".img");
                try (var ch = java.nio.channels.FileChannel.open(disk, java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.WRITE)) {
                    ch.write(java.nio.ByteBuffer.wrap(new byte[1]), DISK - 1);
                }
                // Each node listens on its own port and reaches the other through a proxy, so
                // whichever connection the pair keeps, every byte crosses a slow link.
                int alphaAt = n == alpha ? portA : toAlpha.port();
                int betaAt = n == beta ? portB : toBeta.port();
                n.writeConfig("r0", String.join("\n",
                        "protocol = \"" + protocol + "\"",
                        "[net]",
                        "shared-secret = \"s3cret\"",
                        "connect-retry = \"200ms\"",
                        "[node.alpha]",
                        "address = \"127.0.0.1:" + alphaAt + "\"",
                        "disk = \"" + dir.resolve("alpha.img") + "\"",
                        "nbd-socket = \"" + dir.resolve("alpha.nbd") + "\"",
                        "[node.beta]",
                        "address = \"127.0.0.1:" + betaAt + "\"",
                        "disk = \"" + dir.resolve("beta.img") + "\"",
                        "nbd-socket = \"" + dir.resolve("beta.nbd") + "\"",
                        ""));
            }
            alpha.start();
            beta.start();
            for (AgentProcess n : new AgentProcess[] {alpha, beta}) {
                n.ctl("create-md", "r0").ok();
                n.ctl("up", "r0").ok();
            }
            alpha.ctl("wait-connect", "r0", "--timeout", "60").ok();
            alpha.ctl("new-current-uuid", "--clear-bitmap", "r0").ok();
            alpha.ctl("primary", "r0").ok();

            AtomicLong peakRss = new AtomicLong();
            Thread sampler = sampleRss(alpha.pid(), peakRss);
            long started = System.nanoTime();
            Cmd.Result fio = Cmd.run("fio", "--name=fast", "--ioengine=nbd",
                    "--uri=nbd+unix:///r0?socket=" + dir.resolve("alpha.nbd"), "--rw=write", "--bs=1M",
                    "--iodepth=32", "--size=" + WRITE_MIB + "M", "--output-format=json");
            long elapsedNanos = System.nanoTime() - started;
            sampler.interrupt();
            sampler.join();
            assertEquals(0, fio.exit(), fio.out() + fio.err());
            assertTrue(alpha.alive(), "the Primary survived the slow link");
            Cmd.run("qemu-io", "-f", "raw", "nbd+unix:///r0?socket=" + dir.resolve("alpha.nbd"), "-c", "flush").ok();
            NbdClientsIT.waitFor(() -> {
                JsonNode s = new ObjectMapper().readTree(alpha.ctl("status", "--json", "r0").ok().out())
                        .path("resources").get(0);
                return "Established".equals(s.path("replication").asText()) && s.path("outOfSyncBytes").asLong() == 0;
            }, "in sync");
            long data = WRITE_MIB << 20;
            assertEquals(PairFixture.sha256(dir.resolve("alpha.img"), data), PairFixture.sha256(dir.resolve("beta.img"), data),
                    "the copies are identical");
            System.out.printf("[SlowLinkIT] protocol %s: %d MiB over a %d MB/s link in %.1f s (%.1f MB/s);"
                    + " agent RSS peak %d MiB (bound %d MiB)%n", protocol, WRITE_MIB, LINK_BYTES_PER_SECOND / 1_000_000,
                    elapsedNanos / 1e9, (WRITE_MIB << 20) / (elapsedNanos / 1e9) / 1e6, peakRss.get() >> 20,
                    RSS_BOUND_BYTES >> 20);
            assertTrue(peakRss.get() > 0, "RSS was sampled");
            assertTrue(peakRss.get() < RSS_BOUND_BYTES, "agent RSS peaked at " + (peakRss.get() >> 20) + " MiB");
        }
    }

    /** Samples VmRSS of {@code pid} until interrupted, keeping the largest. */
    private static Thread sampleRss(long pid, AtomicLong peak) {
        Thread t = new Thread(() -> {
            Path status = Path.of("/proc", Long.toString(pid), "status");
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    for (String line : Files.readAllLines(status)) {
                        if (line.startsWith("VmRSS:")) {
                            long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                            peak.accumulateAndGet(kib << 10, Math::max);
                        }
                    }
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                } catch (java.io.IOException e) {
                    return;
                }
            }
        }, "rss-sampler");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
