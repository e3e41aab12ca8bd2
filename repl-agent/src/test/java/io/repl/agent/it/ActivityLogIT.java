package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.repl.agent.metrics.ExpositionParser;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random writes over a volume twice the activity log's reach (1,000 extents of 4 MiB), on two
 * real agents: the writes of a burst that find their extents cold share one transaction, extents
 * are evicted, fio reads back what it wrote, and a Primary killed in the middle of such writes
 * comes back with copies that the resync of its activity log makes equal.
 */
class ActivityLogIT {
    private static final long DISK = 8L << 30;
    @TempDir
    Path dir;

    @Test
    void coldExtentsOfABurstShareATransactionAndAKilledPrimaryComesBackEqual() throws Exception {
        int port = PairFixture.freePort();
        try (PairFixture p = new PairFixture(dir, DISK, "C")) {
            p.alpha.withArgs("--metrics-listen", "127.0.0.1:" + port);
            p.startConnectedOnSockets();
            // Two fresh sparse files: identical, no initial sync.
            p.alpha.ctl("new-current-uuid", "--clear-bitmap", "r0").ok();
            NbdClientsIT.waitFor(() -> "UpToDate".equals(p.status(p.beta).path("disk").asText()), "beta UpToDate");
            p.alpha.ctl("primary", "r0").ok();

            // 6,144 random 4 KiB writes over all 8 GiB (2,048 extents), then fio reads each back.
            JsonNode job = MetricsIT.fio(p.uri(p.alpha), "--name=spread", "--rw=randwrite", "--bs=4k", "--iodepth=32", "--io_size=24m",
                    "--verify=crc32c", "--do_verify=1", "--verify_state_save=0", "--randseed=7");
            assertEquals(24L << 20, job.path("write").path("io_bytes").asLong());
            assertEquals(24L << 20, job.path("read").path("io_bytes").asLong(), "fio read back and verified all of it");

            ExpositionParser.Scrape s = MetricsIT.scrape(port);
            double misses = s.value("repl_al_misses_total", "resource", "r0");
            double transactions = s.value("repl_al_transactions_total", "resource", "r0");
            assertTrue(misses > 1000, misses + " extents made hot: more than the log holds, so extents were evicted");
            assertTrue(transactions * 3 < misses, transactions + " transactions for " + misses
                    + " extents made hot: the bursts' cold extents did not share transactions");

            // Killed with writes to cold extents in flight; beta stays Secondary.
            Process writer = new ProcessBuilder("fio", "--name=killed", "--rw=randwrite", "--bs=4k", "--iodepth=32",
                    "--size=8g", "--time_based", "--runtime=60", "--randseed=8", "--ioengine=nbd",
                    "--uri=" + p.uri(p.alpha)).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("killed-fio.log").toFile()).start();
            NbdClientsIT.waitFor(() -> MetricsIT.scrape(port).value("repl_al_transactions_total", "resource", "r0")
                    > transactions + 20, "the second writer's transactions");
            p.alpha.kill();
            assertTrue(writer.waitFor(60, TimeUnit.SECONDS), "fio ends once its export is gone");

            p.alpha.start();
            p.alpha.ctlNow("up", "r0", Map.of());
            p.waitSynced();
            long data = p.dataBytes();
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data),
                    "after the crashed Primary's activity log was resynced the copies are equal");
        }
    }
}
