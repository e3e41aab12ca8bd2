package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two agents whose link runs at 10 MB/s through {@link ThrottlingProxy}, written to as fast as
 * fio can: the Primary holds its client back to the link's pace (protocol C by waiting for
 * acknowledgements, protocol A by the link's backpressure), or with {@code on-congestion =
 * "pull-ahead"} goes Ahead and resyncs later; its memory stays bounded, and the copies end
 * identical. {@code -Drepl.slowlink.mib=1024} writes the full gibibyte; the
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

    /**
     * Two agents, each reaching the other through a 10 MB/s proxy, with {@code protocol} and
     * {@code netLines} in the resource's {@code [net]}; alpha is Primary of an in-sync pair.
     */
    private ThrottledPair slowPair(String protocol, String... netLines) throws Exception {
        ThrottledPair pair = new ThrottledPair(dir, DISK, LINK_BYTES_PER_SECOND, protocol, netLines);
        try {
            pair.startConnected();
            pair.alpha.ctl("new-current-uuid", "--clear-bitmap", "r0").ok();
            pair.alpha.ctl("primary", "r0").ok();
            return pair;
        } catch (Exception | AssertionError e) {
            pair.close();
            throw e;
        }
    }

    /** fio writes {@link #WRITE_MIB} sequentially through alpha's export, 1 MiB at queue depth 32. */
    private static Cmd.Result fastClient(ThrottledPair pair) throws Exception {
        return Cmd.run("fio", "--name=fast", "--ioengine=nbd", "--uri=" + pair.uri(pair.alpha), "--rw=write",
                "--bs=1M", "--iodepth=32", "--size=" + WRITE_MIB + "M", "--output-format=json");
    }

    /** Flushes, waits (up to {@code seconds}) until alpha is in sync, and compares the copies. */
    private static void flushAwaitInSyncAndCompare(ThrottledPair pair, long seconds) throws Exception {
        Cmd.run("qemu-io", "-f", "raw", pair.uri(pair.alpha), "-c", "flush").ok();
        NbdClientsIT.waitFor(() -> {
            JsonNode s = pair.status(pair.alpha);
            return "Established".equals(s.path("replication").asText()) && s.path("outOfSyncBytes").asLong() == 0
                    && "UpToDate".equals(s.path("peer").path("disk").asText());
        }, "alpha in sync", seconds);
        long data = WRITE_MIB << 20;
        assertEquals(PairFixture.sha256(pair.disk(pair.alpha), data), PairFixture.sha256(pair.disk(pair.beta), data),
                "the copies are identical");
    }

    @ParameterizedTest(name = "protocol {0}")
    @ValueSource(strings = {"C", "A"})
    void aFastClientOnASlowLinkIsHeldToItsPaceWithBoundedMemory(String protocol) throws Exception {
        try (ThrottledPair pair = slowPair(protocol)) {
            AgentProcess alpha = pair.alpha;
            AtomicLong peakRss = new AtomicLong();
            Thread sampler = sampleRss(alpha.pid(), peakRss);
            long started = System.nanoTime();
            Cmd.Result fio = fastClient(pair);
            long elapsedNanos = System.nanoTime() - started;
            sampler.interrupt();
            sampler.join();
            assertEquals(0, fio.exit(), fio.out() + fio.err());
            assertTrue(alpha.alive(), "the Primary survived the slow link");
            flushAwaitInSyncAndCompare(pair, 30);
            System.out.printf("[SlowLinkIT] protocol %s: %d MiB over a %d MB/s link in %.1f s (%.1f MB/s);"
                    + " agent RSS peak %d MiB (bound %d MiB)%n", protocol, WRITE_MIB, LINK_BYTES_PER_SECOND / 1_000_000,
                    elapsedNanos / 1e9, (WRITE_MIB << 20) / (elapsedNanos / 1e9) / 1e6, peakRss.get() >> 20,
                    RSS_BOUND_BYTES >> 20);
            assertTrue(peakRss.get() > 0, "RSS was sampled");
            assertTrue(peakRss.get() < RSS_BOUND_BYTES, "agent RSS peaked at " + (peakRss.get() >> 20) + " MiB");
        }
    }

    /**
     * Protocol A with {@code on-congestion = "pull-ahead"}: once the link holds the congestion
     * fill, alpha goes Ahead and the client writes at the local disk's pace instead of the link's;
     * status shows Ahead, beta goes Behind, and once the link drains the pair resyncs on the same
     * connection to identical copies, the agent's memory bounded as under block.
     */
    @Test
    void withPullAheadAFastClientRunsAheadAndThePairResyncs() throws Exception {
        try (ThrottledPair pair = slowPair("A", "on-congestion = \"pull-ahead\"", "congestion-fill = \"32M\"")) {
            AgentProcess alpha = pair.alpha;
            AtomicLong peakRss = new AtomicLong();
            Thread sampler = sampleRss(alpha.pid(), peakRss);
            AtomicBoolean aheadSeen = new AtomicBoolean();
            AtomicReference<String> peerDiskAhead = new AtomicReference<>();
            Thread watcher = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        JsonNode s = pair.status(alpha);
                        if ("Ahead".equals(s.path("replication").asText()) && aheadSeen.compareAndSet(false, true)) {
                            peerDiskAhead.set(s.path("peer").path("disk").asText());
                        }
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        // the next sample will do
                    }
                }
            }, "status-watcher");
            watcher.setDaemon(true);
            watcher.start();
            long started = System.nanoTime();
            Cmd.Result fio = fastClient(pair);
            long clientNanos = System.nanoTime() - started;
            assertEquals(0, fio.exit(), fio.out() + fio.err());
            // Every block written Ahead crosses the link once more, in the resync.
            flushAwaitInSyncAndCompare(pair, 60 + 3 * (WRITE_MIB << 20) / LINK_BYTES_PER_SECOND);
            long syncedNanos = System.nanoTime() - started;
            watcher.interrupt();
            watcher.join();
            sampler.interrupt();
            sampler.join();
            assertTrue(alpha.alive(), "the Primary survived the slow link");
            assertTrue(aheadSeen.get(), "replctl status showed alpha Ahead");
            String alphaLog = alpha.log();
            String betaLog = pair.beta.log();
            List<Duration> aheadPhases = phases(alphaLog, "Established -> Ahead", "Ahead -> resync");
            assertFalse(aheadPhases.isEmpty(), "alpha's log has a whole Ahead phase:\n" + alphaLog);
            assertTrue(betaLog.contains("Established -> Behind, disk Outdated"), "beta went Behind:\n" + betaLog);
            assertTrue(betaLog.contains("resync as target finished"), "beta caught up by a resync:\n" + betaLog);
            Duration aheadTotal = aheadPhases.stream().reduce(Duration.ZERO, Duration::plus);
            System.out.printf("[SlowLinkIT] protocol A, pull-ahead at 32 MiB: %d MiB written in %.1f s (%.1f MB/s);"
                    + " %d Ahead phase(s), %.1f s in all (longest %.1f s); peer disk %s when Ahead was first seen;"
                    + " in sync %.1f s after the start; agent RSS peak %d MiB (bound %d MiB)%n", WRITE_MIB,
                    clientNanos / 1e9, (WRITE_MIB << 20) / (clientNanos / 1e9) / 1e6, aheadPhases.size(),
                    aheadTotal.toMillis() / 1e3,
                    aheadPhases.stream().max(Duration::compareTo).orElseThrow().toMillis() / 1e3, peerDiskAhead.get(),
                    syncedNanos / 1e9, peakRss.get() >> 20, RSS_BOUND_BYTES >> 20);
            assertTrue(peakRss.get() > 0, "RSS was sampled");
            assertTrue(peakRss.get() < RSS_BOUND_BYTES, "agent RSS peaked at " + (peakRss.get() >> 20) + " MiB");
        }
    }

    /** From each log line containing {@code from} to the next containing {@code to}: how long. */
    private static List<Duration> phases(String log, String from, String to) {
        List<Duration> out = new ArrayList<>();
        Instant began = null;
        for (String line : log.split("\n")) {
            if (line.contains(from) && began == null) {
                began = Instant.parse(line.substring(0, line.indexOf(' ')));
            } else if (line.contains(to) && began != null) {
                out.add(Duration.between(began, Instant.parse(line.substring(0, line.indexOf(' ')))));
                began = null;
            }
        }
        return out;
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
