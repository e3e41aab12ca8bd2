package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.repl.agent.metrics.ExpositionParser;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --metrics-listen} on two real agents: what {@code curl} reads from the endpoint
 * agrees with what fio says it did through the export, and with the states status shows.
 */
class MetricsIT {
    private static final long DISK = 64L << 20;
    @TempDir
    Path dir;

    @Test
    void theCountersAgreeWithFiosOwnTotalsAndTheStatesWithStatus() throws Exception {
        int portA = PairFixture.freePort();
        int portB = PairFixture.freePort();
        try (PairFixture p = new PairFixture(dir, DISK, "C")) {
            p.alpha.withArgs("--metrics-listen", "127.0.0.1:" + portA);
            p.beta.withArgs("--metrics-listen", "127.0.0.1:" + portB);
            // A ceiling that makes the initial sync last a few seconds, to be seen in progress.
            for (AgentProcess a : new AgentProcess[] {p.alpha, p.beta}) {
                Path file = a.configDir.resolve("r0.toml");
                Files.writeString(file, Files.readString(file) + "[disk]\nresync-rate-max = \"16M\"\n");
            }
            p.startConnectedOnSockets();
            p.alpha.ctl("primary", "--force", "r0").ok();
            NbdClientsIT.waitFor(() -> {
                ExpositionParser.Scrape s = scrape(portB);
                return s.value("repl_replication_state", "resource", "r0", "state", "SyncTarget") == 1
                        && !s.find("repl_sync_progress_ratio", "resource", "r0", "kind", "resync").isEmpty()
                        && s.value("repl_sync_progress_ratio", "resource", "r0") > 0;
            }, "beta's metrics show the resync in progress");
            ExpositionParser.Scrape syncing = scrape(portB);
            double done = syncing.value("repl_sync_progress_ratio", "resource", "r0", "kind", "resync");
            assertTrue(done > 0 && done < 1, "progress " + done);
            assertTrue(syncing.value("repl_sync_left_bytes", "resource", "r0") > 0);
            assertTrue(syncing.value("repl_sync_controller_rate_bytes_per_second", "resource", "r0") <= 16 << 20);
            assertEquals(1, syncing.value("repl_disk_state", "resource", "r0", "state", "Inconsistent"));
            p.waitSynced();
            ExpositionParser.Scrape a0 = scrape(portA);
            ExpositionParser.Scrape b0 = scrape(portB);
            assertEquals(1, a0.value("repl_role", "resource", "r0", "role", "Primary"));
            assertEquals(0, a0.value("repl_role", "resource", "r0", "role", "Secondary"));
            assertEquals(1, b0.value("repl_role", "resource", "r0", "role", "Secondary"));
            assertEquals(1, a0.value("repl_disk_state", "resource", "r0", "state", "UpToDate"));
            assertEquals(1, a0.value("repl_connection_state", "resource", "r0", "state", "Connected"));
            assertEquals(1, a0.value("repl_replication_state", "resource", "r0", "state", "Established"));
            assertEquals(1, b0.value("repl_peer_role", "resource", "r0", "role", "Primary"));
            assertEquals(0, a0.value("repl_out_of_sync_bytes", "resource", "r0"));
            assertTrue(b0.value("repl_peer_resync_received_bytes_total", "resource", "r0") > 0,
                    "the initial sync crossed the link");

            JsonNode write = fioOnAlpha("--name=w", "--rw=randwrite", "--bs=4k", "--iodepth=16", "--size=16M",
                    "--randrepeat=0").path("write");
            JsonNode read = fioOnAlpha("--name=r", "--rw=randread", "--bs=64k", "--iodepth=8", "--size=8M").path("read");
            long writeBytes = write.path("io_bytes").asLong();
            long writes = write.path("total_ios").asLong();
            long readBytes = read.path("io_bytes").asLong();
            long reads = read.path("total_ios").asLong();
            assertEquals(16L << 20, writeBytes);
            assertEquals(8L << 20, readBytes);

            ExpositionParser.Scrape a1 = scrape(portA);
            ExpositionParser.Scrape b1 = scrape(portB);
            assertEquals(writeBytes, delta(a0, a1, "repl_nbd_request_bytes_total", "op", "write"));
            assertEquals(writes, delta(a0, a1, "repl_nbd_requests_total", "op", "write"));
            assertEquals(readBytes, delta(a0, a1, "repl_nbd_request_bytes_total", "op", "read"));
            assertEquals(reads, delta(a0, a1, "repl_nbd_requests_total", "op", "read"));
            assertEquals(0, delta(a0, a1, "repl_nbd_request_errors_total", "op", "write"));
            assertEquals(writes, delta(a0, a1, "repl_nbd_request_duration_seconds_count", "op", "write"));
            assertEquals(writes, delta(a0, a1, "repl_nbd_request_duration_seconds_bucket", "op", "write", "le", "+Inf"));
            assertTrue(delta(a0, a1, "repl_nbd_request_duration_seconds_sum", "op", "write") > 0);
            // Protocol C: every written block crossed to the peer as DATA, uncompressed counted once.
            assertEquals(writeBytes, delta(a0, a1, "repl_peer_sent_block_bytes_total"));
            assertEquals(writeBytes, delta(b0, b1, "repl_peer_received_block_bytes_total"));
            assertTrue(delta(a0, a1, "repl_peer_sent_bytes_total") >= writeBytes);
            assertTrue(a1.value("repl_metadata_writes_total", "resource", "r0") > 0);
            double misses = a1.value("repl_al_misses_total", "resource", "r0");
            double transactions = a1.value("repl_al_transactions_total", "resource", "r0");
            assertTrue(misses > 0, "random writes over 16M touch cold extents");
            assertTrue(transactions > 0 && transactions <= misses, transactions + " transactions for " + misses + " misses");
            assertEquals(0, a1.value("repl_nbd_clients", "resource", "r0"));
        }
    }

    private JsonNode fioOnAlpha(String... job) throws Exception {
        return fio("nbd+unix:///r0?socket=" + dir.resolve("alpha-r0.nbd"), job);
    }

    /** One fio job through the NBD export at {@code uri}; its JSON record, which must show no error. */
    static JsonNode fio(String uri, String... job) throws Exception {
        String[] argv = new String[job.length + 4];
        argv[0] = "fio";
        System.arraycopy(job, 0, argv, 1, job.length);
        argv[job.length + 1] = "--ioengine=nbd";
        argv[job.length + 2] = "--uri=" + uri;
        argv[job.length + 3] = "--output-format=json";
        Cmd.Result r = Cmd.run(argv).ok();
        JsonNode j = new ObjectMapper().readTree(r.out().substring(r.out().indexOf('{'))).path("jobs").get(0);
        assertEquals(0, j.path("error").asInt(), r.out());
        return j;
    }

    private static double delta(ExpositionParser.Scrape before, ExpositionParser.Scrape after, String name,
                                String... labels) {
        String[] all = new String[labels.length + 2];
        all[0] = "resource";
        all[1] = "r0";
        System.arraycopy(labels, 0, all, 2, labels.length);
        return after.value(name, all) - before.value(name, all);
    }

    /** What an agent's {@code --metrics-listen} endpoint on {@code port} serves now. */
    static ExpositionParser.Scrape scrape(int port) throws Exception {
        Cmd.Result r = Cmd.run("curl", "-sf", "http://127.0.0.1:" + port + "/metrics").ok();
        return ExpositionParser.parse(r.out());
    }
}
