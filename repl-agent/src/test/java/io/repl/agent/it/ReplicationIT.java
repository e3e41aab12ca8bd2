package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Two real agents on loopback: initial sync, mirrored writes, the export rules, refusals. */
class ReplicationIT {
    private static final long DISK = 64L << 20;
    @TempDir
    Path dir;

    @ParameterizedTest(name = "protocol {0}")
    @ValueSource(strings = {"A", "B", "C"})
    void initialSyncThenVerifiedWritesLeaveIdenticalReplicas(String protocol) throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK, protocol).startConnected()) {
            JsonNode before = p.status(p.alpha);
            assertEquals("Inconsistent", before.path("disk").asText());
            assertEquals("Inconsistent", before.path("peer").path("disk").asText());
            p.initialSync();
            long data = p.dataBytes();
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "after the initial sync");

            Cmd.Result fio = Cmd.run("fio", "--name=mirror", "--ioengine=nbd", "--uri=" + p.uri(p.alpha),
                    "--rw=randwrite", "--bs=4k", "--iodepth=32", "--size=32M", "--verify=crc32c",
                    "--verify_fatal=1", "--verify_state_save=0", "--output-format=json").ok();
            JsonNode job = new ObjectMapper().readTree(fio.out().substring(fio.out().indexOf('{')))
                    .path("jobs").get(0);
            assertEquals(0, job.path("error").asInt(), fio.out());
            Path payload = dir.resolve("payload.bin");
            StandaloneFixture.fillRandom(payload, 16L << 20, 77);
            Cmd.run("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", payload.toString(),
                    "nbd+unix:///r0?socket=" + p.socket(p.alpha)).ok();
            // A FLUSH on the Primary returns once the peer has flushed everything before it: under
            // protocol A that is the moment the Secondary is known to hold every write.
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "flush").ok();
            p.waitSynced();
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "after fio and qemu-img");
            JsonNode after = p.status(p.beta);
            assertEquals("Secondary", after.path("role").asText());
            assertEquals("Primary", after.path("peer").path("role").asText());
            assertEquals(0, after.path("outOfSyncBytes").asLong());
        }
    }

    /**
     * With LZ4 on the wire the Secondary decompresses each block straight into the buffer its
     * disk write uses: compressible writes of several sizes through the Primary leave identical
     * replicas, and the link really carried fewer bytes than the blocks held.
     */
    @Test
    void lz4OnTheWireLeavesIdenticalReplicas() throws Exception {
        try (PairFixture p = PairFixture.withNet(dir, DISK, "C", "compression = \"lz4\"").startConnected()) {
            p.initialSync();
            long data = p.dataBytes();
            JsonNode before = p.status(p.alpha).path("traffic");
            Cmd.Result fio = Cmd.run("fio", "--name=lz4", "--ioengine=nbd", "--uri=" + p.uri(p.alpha),
                    "--rw=randwrite", "--bsrange=4k-256k", "--iodepth=16", "--size=32M",
                    "--buffer_compress_percentage=70", "--refill_buffers=1", "--verify=crc32c",
                    "--verify_fatal=1", "--verify_state_save=0", "--output-format=json").ok();
            JsonNode job = new ObjectMapper().readTree(fio.out().substring(fio.out().indexOf('{')))
                    .path("jobs").get(0);
            assertEquals(0, job.path("error").asInt(), fio.out());
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "flush").ok();
            p.waitSynced();
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "after compressible writes");
            JsonNode after = p.status(p.alpha).path("traffic");
            long wire = after.path("bytesOut").asLong() - before.path("bytesOut").asLong();
            long blocks = after.path("blockBytesOut").asLong() - before.path("blockBytesOut").asLong();
            assertTrue(blocks >= 32L << 20, "the writes' blocks went to the peer: " + blocks);
            assertTrue(wire < blocks * 3 / 4, "LZ4 made the link carry less: " + wire + " bytes for " + blocks);
        }
    }

    @Test
    void theSecondaryServesReadOnlyAndPromotionIsRefusedWhileThePeerIsPrimary() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK, "C").startConnected()) {
            Cmd.Result early = Cmd.run("nbdinfo", p.uri(p.beta));
            assertNotEquals(0, early.exit(), "an Inconsistent Secondary refuses the export");
            assertTrue(p.beta.log().contains("is Secondary with disk Inconsistent"), p.beta.log());
            Cmd.Result noData = p.beta.ctl("primary", "r0");
            assertEquals(17, noData.exit(), "no up-to-date data anywhere: " + noData.err());
            p.initialSync();
            JsonNode info = new ObjectMapper().readTree(Cmd.run("nbdinfo", "--json", p.uri(p.beta)).ok().out());
            assertTrue(info.path("exports").get(0).path("is_read_only").asBoolean());
            Cmd.Result write = Cmd.run("qemu-io", "-f", "raw", p.uri(p.beta), "-c", "write -P 1 0 4k");
            assertTrue(write.exit() != 0 || write.out().contains("failed") || write.err().contains("ermission"),
                    "a write to the Secondary must fail: " + write.out() + write.err());
            Cmd.Result promote = p.beta.ctl("primary", "r0");
            assertEquals(11, promote.exit(), "two Primaries while connected: " + promote.err());
            assertTrue(promote.err().toLowerCase().contains("primary"), promote.err());
            assertEquals("Secondary", p.status(p.beta).path("role").asText());
        }
    }

    @Test
    void aWrongSharedSecretNeverConnectsAndChangesNothing() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK, "C", "right-secret", "wrong-secret", "127.0.0.1",
                "127.0.0.1", null, null)) {
            p.alpha.start();
            p.beta.start();
            for (AgentProcess a : new AgentProcess[] {p.alpha, p.beta}) {
                a.ctl("create-md", "r0").ok();
                a.ctl("up", "r0").ok();
            }
            Cmd.Result wait = p.alpha.ctl("wait-connect", "r0", "--timeout", "5");
            assertEquals(11, wait.exit(), "must not connect with a wrong secret");
            NbdClientsIT.waitFor(() -> p.alpha.log().toLowerCase().contains("auth")
                    || p.beta.log().toLowerCase().contains("auth"), "an authentication failure in a log");
            assertEquals("Inconsistent", p.status(p.alpha).path("disk").asText());
            assertEquals("DUnknown", p.status(p.alpha).path("peer").path("disk").asText());
            assertTrue(p.alpha.alive() && p.beta.alive());
        }
    }

    @Test
    void newCurrentUuidClearBitmapSkipsTheInitialSyncOfZeroedDisks() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK, "C").startConnected()) {
            p.alpha.ctl("new-current-uuid", "--clear-bitmap", "r0").ok();
            NbdClientsIT.waitFor(() -> "UpToDate".equals(p.status(p.alpha).path("disk").asText())
                    && "UpToDate".equals(p.status(p.beta).path("disk").asText()), "both UpToDate without a sync");
            assertEquals(0, p.status(p.alpha).path("outOfSyncBytes").asLong());
            p.alpha.ctl("primary", "r0").ok();
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "write -P 0x42 1M 1M").ok();
            p.waitSynced();
            long data = p.dataBytes();
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data));
        }
    }

    @Test
    void twoPrimariesWhileApartIsASplitBrainThatIsDetectedAndNeverMerged() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK, "C").startConnected().initialSync()) {
            p.alpha.ctl("disconnect", "r0").ok();
            p.beta.ctl("disconnect", "r0").ok();
            NbdClientsIT.waitFor(() -> "StandAlone".equals(p.status(p.alpha).path("connection").asText())
                    && "StandAlone".equals(p.status(p.beta).path("connection").asText()), "both StandAlone");
            // A disconnect is a loss without goodbye: beta's disk is only Consistent now (alpha may
            // write alone), so promoting it takes --force, which is exactly how a split brain is made.
            Cmd.Result refused = p.beta.ctl("primary", "r0");
            assertEquals(17, refused.exit(), refused.err());
            p.beta.ctl("primary", "--force", "r0").ok();
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "write -P 0xaa 0 64k").ok();
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.beta), "-c", "write -P 0xbb 0 64k").ok();
            p.alpha.ctl("connect", "r0").ok();
            p.beta.ctl("connect", "r0").ok();
            NbdClientsIT.waitFor(() -> p.alpha.log().toLowerCase().contains("split")
                    && p.beta.log().toLowerCase().contains("split"), "both nodes to report the split brain");
            NbdClientsIT.waitFor(() -> "StandAlone".equals(p.status(p.alpha).path("connection").asText())
                    && "StandAlone".equals(p.status(p.beta).path("connection").asText()),
                    "both nodes to give up the connection");
            // Nothing was merged: each side still has exactly its own write.
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "read -P 0xaa 0 64k").ok();
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.beta), "-c", "read -P 0xbb 0 64k").ok();
            assertTrue(!Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "read -P 0xaa 0 64k").out()
                    .contains("Pattern verification failed"));
            assertTrue(!Cmd.run("qemu-io", "-f", "raw", p.uri(p.beta), "-c", "read -P 0xbb 0 64k").out()
                    .contains("Pattern verification failed"));
        }
    }
}
