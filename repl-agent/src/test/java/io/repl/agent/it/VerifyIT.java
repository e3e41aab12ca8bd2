package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online verify with real agents: it finds exactly the blocks corrupted behind an agent's back,
 * the handlers and status say so, disconnect and connect repair them; after a partition with
 * writes only the dirtied blocks resync and verify finds the copies equal; and verify while fio
 * writes reports nothing.
 */
class VerifyIT {
    private static final long DISK = 64L << 20;
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    /** Overwrites {@code blocks} 4 KiB blocks at {@code offset} of {@code file}, past the agent, durably. */
    private static void corrupt(Path file, long offset, int blocks) throws Exception {
        Cmd.run("dd", "if=/dev/urandom", "of=" + file, "bs=" + BLOCK, "seek=" + offset / BLOCK, "count=" + blocks,
                "conv=notrunc,fsync", "status=none").ok();
    }

    @Test
    void findsExactlyTheCorruptedBlocksAndConnectRepairsThem() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK, "C")) {
            OnlineVerify verify = OnlineVerify.configure(dir, "sha256", p.alpha, p.beta);
            p.startConnected().initialSync();
            long data = p.dataBytes();
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "write -P 0x42 0 8M", "-c", "write -P 0x17 40M 3M",
                    "-c", "flush").ok();
            p.waitSynced();
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "in sync before the damage");

            long last = data - BLOCK;
            corrupt(p.disk(p.beta), BLOCK, 1);
            corrupt(p.disk(p.beta), (5L << 20) + 2 * BLOCK, 2);
            corrupt(p.disk(p.beta), last, 1);
            String expected = BLOCK + "+" + BLOCK + " " + ((5L << 20) + 2 * BLOCK) + "+" + 2 * BLOCK + " " + last
                    + "+" + BLOCK;

            // A verify that loses its connection stops (on a machine loaded enough to miss the
            // fixture's 1 s ping timeout); the reconnect then resyncs what it had marked, so the
            // run that finishes reports those blocks no more: exactness holds for an unbroken run.
            OnlineVerify.Outcome run = verify.runToEnd(p.alpha, p::waitSynced);
            boolean broken = !run.stops().isEmpty();
            Map<String, String> done = run.env();
            if (broken && !"4".equals(done.get("REPL_OOS_BLOCKS"))) {
                System.out.println("[VerifyIT] a lost connection stopped verify; the resync repaired part: " + done);
                p.waitSynced();
                assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data));
                return;
            }
            // Both handlers run out of band, in no particular order.
            verify.awaitFile(verify.env(p.alpha, "out-of-sync"));
            assertEquals(done, OnlineVerify.readEnv(verify.env(p.alpha, "out-of-sync")));
            Map<String, String> found = OnlineVerify.readEnv(verify.env(p.alpha, "out-of-sync"));
            assertEquals("4", found.get("REPL_OOS_BLOCKS"), found.toString());
            assertEquals(Long.toString(4 * BLOCK), found.get("REPL_OOS_BYTES"));
            assertEquals(expected, found.get("REPL_OOS_RANGES"));
            assertEquals("SHA_256", found.get("REPL_VERIFY_ALG"));
            assertEquals("r0", found.get("REPL_RESOURCE"));
            assertEquals("beta", found.get("REPL_PEER"));
            assertTrue(p.alpha.log().contains("online verify finished from offset 0: 4 blocks (16384 bytes) out of sync: "
                    + expected), p.alpha.log());
            assertFalse(Files.exists(verify.env(p.beta, "out-of-sync")), "handlers run where verify ran");
            // Both bitmaps hold exactly those blocks; verify repaired nothing.
            NbdClientsIT.waitFor(() -> p.status(p.beta).path("outOfSyncBytes").asLong() == 4 * BLOCK,
                    "beta's bitmap to hold the blocks");
            JsonNode alpha = p.status(p.alpha);
            assertEquals(4 * BLOCK, alpha.path("outOfSyncBytes").asLong());
            assertEquals("Established", alpha.path("replication").asText());
            assertFalse(p.dataHash(p.alpha, data).equals(p.dataHash(p.beta, data)));

            // Refusals: a bad offset is a usage error, a disconnected pair cannot be verified.
            Cmd.Result misaligned = p.alpha.ctl("verify", "r0", "--start", "100");
            assertEquals(2, misaligned.exit(), misaligned.err());
            assertTrue(misaligned.err().contains("not a multiple of 4096 inside the device"), misaligned.err());
            Cmd.Result past = p.alpha.ctl("verify", "r0", "--start", "1G");
            assertEquals(2, past.exit(), past.err());
            Cmd.Result words = p.alpha.ctl("verify", "r0", "--start", "lots");
            assertEquals(2, words.exit(), words.err());
            assertTrue(words.err().contains("is not an offset such as 0, 4096 or 64M"), words.err());

            p.alpha.ctl("disconnect", "r0").ok();
            Cmd.Result apart = p.alpha.ctl("verify", "r0");
            assertEquals(11, apart.exit(), apart.err());
            assertTrue(apart.err().contains("not connected"), apart.err());
            p.alpha.ctl("connect", "r0").ok();
            p.waitSynced();
            assertEquals(0, p.status(p.beta).path("outOfSyncBytes").asLong());
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "disconnect and connect repaired them");

            Files.delete(verify.env(p.alpha, "out-of-sync"));
            Files.delete(verify.env(p.alpha, "after-verify"));
            p.beta.ctl("verify", "r0", "--start", "4M").ok();
            verify.awaitFile(verify.env(p.beta, "after-verify"));
            Map<String, String> clean = OnlineVerify.readEnv(verify.env(p.beta, "after-verify"));
            assertEquals("0", clean.get("REPL_OOS_BLOCKS"), clean.toString());
            assertEquals(Long.toString(4L << 20), clean.get("REPL_VERIFY_START"));
            assertFalse(Files.exists(verify.env(p.beta, "out-of-sync")), "a clean verify runs no out-of-sync");
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data));
        }
    }

    @Test
    void verifyWhileFioWritesOnThePrimaryReportsNothing() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK, "C")) {
            OnlineVerify verify = OnlineVerify.configure(dir, "crc32c", p.alpha, p.beta);
            p.startConnected().initialSync();
            long data = p.dataBytes();
            // fio writes at random over most of the volume until this test stops it (by its pid).
            Process fio = new ProcessBuilder("fio", "--name=during-verify", "--ioengine=nbd", "--uri=" + p.uri(p.alpha),
                    "--rw=randwrite", "--bs=4k", "--iodepth=16", "--size=48M", "--time_based", "--runtime=600")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("fio.out").toFile()).start();
            try {
                NbdClientsIT.waitFor(() -> p.status(p.alpha).path("clients").asInt() > 0, "fio to connect");
                p.alpha.ctl("verify", "r0").ok();
                verify.awaitFile(verify.env(p.alpha, "after-verify"));
                assertTrue(fio.isAlive(), "fio wrote for the whole verify: " + Files.readString(dir.resolve("fio.out")));
            } finally {
                fio.destroy();
                fio.waitFor();
            }
            Map<String, String> env = OnlineVerify.readEnv(verify.env(p.alpha, "after-verify"));
            assertEquals("0", env.get("REPL_OOS_BLOCKS"), env + "\n" + p.alpha.log());
            assertFalse(Files.exists(verify.env(p.alpha, "out-of-sync")));
            assertTrue(p.alpha.log().contains("online verify finished from offset 0: 0 blocks out of sync"));
            // A flush on the Primary returns once the peer holds every write before it.
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "flush").ok();
            p.waitSynced();
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data));
        }
    }
    /**
     * In network namespaces: a partition while the Primary writes 2.5 MiB. After the partition
     * heals, the bitmap resync moves exactly the dirtied blocks (the Primary's out-of-sync bytes
     * when it reconnects, a bitmap handshake, not a full one), and verify then finds the copies
     * equal, as do their hashes.
     */
    @Test
    void afterAPartitionWithWritesOnlyTheDirtiedBlocksResyncAndVerifyIsClean() throws Exception {
        try (NetnsPair p = NetnsPair.create(dir, NetnsPair.Options.DEFAULTS).start()) {
            String uri = "nbd+unix:///r0?socket=" + p.socket(p.alpha);
            Cmd.run("qemu-io", "-f", "raw", uri, "-c", "write -P 0x31 0 4M", "-c", "flush").ok();
            p.waitInSync();
            p.hosts.cut("alpha", "beta");
            NbdClientsIT.waitFor(() -> !p.connected(p.alpha) && !p.connected(p.beta), "the partition to be noticed");
            Cmd.run("qemu-io", "-f", "raw", uri, "-c", "write -P 0x52 1M 2M", "-c", "write -P 0x53 20M 512k",
                    "-c", "flush").ok();
            long dirtied = (2L << 20) + (512L << 10);
            assertEquals(dirtied, p.status(p.alpha).path("outOfSyncBytes").asLong(), "the bitmap holds the writes");
            p.hosts.heal("alpha", "beta");
            p.waitInSync();
            assertEquals("BITMAP_SYNC_SOURCE", NetnsPair.lastHandshake(p.alpha), "a bitmap resync, not a full one");
            // What moved: the blocks out of sync when the resync began (both bitmaps, united), as
            // the source's log names them: the dirtied bytes and nothing else.
            String finished = NetnsPair.logLine(p.alpha, "resync as source finished:");
            assertTrue(finished != null && finished.contains("finished: " + dirtied + " bytes were out of sync"),
                    finished + "\n" + p.alpha.log());
            assertEquals(0, p.status(p.beta).path("outOfSyncBytes").asLong());
            Cmd.Result verify = p.ctl(p.beta, "verify");
            assertEquals(0, verify.exit(), verify.err());
            NbdClientsIT.waitFor(() -> NetnsPair.logLine(p.beta, "online verify finished") != null, "verify", 120);
            assertTrue(NetnsPair.logLine(p.beta, "online verify finished from offset 0: 0 blocks out of sync") != null,
                    p.beta.log());
            p.assertIdentical();
        }
    }
}
