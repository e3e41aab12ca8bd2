package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The promise that matters most: with protocol C, every write the Primary acknowledged is on
 * the Secondary when the Primary dies. Random pipelined writes, each block stamped with its
 * block number and a version; the Primary's agent is killed with SIGKILL mid-stream; the
 * Secondary is promoted without --force and every block must hold at least the last
 * acknowledged version (a later write that was in flight may have landed too, never an older).
 */
class FailoverIT {
    private static final int BLOCK = 4096;
    private static final int BLOCKS = 4096;
    private static final int DEPTH = 32;
    @TempDir
    Path dir;

    private static byte[] stamp(int block, long version) {
        ByteBuffer b = ByteBuffer.allocate(BLOCK);
        while (b.hasRemaining()) {
            b.putInt(block).putLong(version).putInt(~block);
        }
        return b.array();
    }

    @Test
    void everyAcknowledgedWriteSurvivesAKilledPrimary() throws Exception {
        try (PairFixture p = new PairFixture(dir, 64L << 20, "C").startConnected().initialSync()) {
            long[] sentMax = new long[BLOCKS];
            AtomicLongArray acked = new AtomicLongArray(BLOCKS);
            Map<Long, long[]> inFlight = new ConcurrentHashMap<>();
            AtomicInteger acks = new AtomicInteger();
            Semaphore window = new Semaphore(DEPTH);
            NbdTestClient c = NbdTestClient.open(p.socket(p.alpha), "r0");
            Thread writer = new Thread(() -> {
                Random rnd = new Random(20261122);
                long version = 0;
                try {
                    while (true) {
                        window.acquire();
                        int block = rnd.nextInt(BLOCKS);
                        version++;
                        synchronized (sentMax) {
                            sentMax[block] = version;
                        }
                        long cookie = c.request(0, NbdTestClient.CMD_WRITE, (long) block * BLOCK, BLOCK,
                                stamp(block, version));
                        inFlight.put(cookie, new long[] {block, version});
                    }
                } catch (Exception stopped) {
                    // The Primary died under us: that is the point of the test.
                }
            });
            Thread reader = new Thread(() -> {
                try {
                    while (true) {
                        NbdTestClient.Reply r = c.reply(0);
                        long[] w = inFlight.remove(r.cookie());
                        while (w == null) {
                            // The writer records a cookie just after sending it; wait for that.
                            Thread.onSpinWait();
                            w = inFlight.remove(r.cookie());
                        }
                        if (r.error() == 0) {
                            int block = (int) w[0];
                            long v = w[1];
                            acked.accumulateAndGet(block, v, Math::max);
                            acks.incrementAndGet();
                        }
                        window.release();
                    }
                } catch (Exception stopped) {
                    // The connection died with the Primary.
                }
            });
            writer.start();
            reader.start();
            NbdClientsIT.waitFor(() -> acks.get() >= 3000, "3000 acknowledged writes");
            p.alpha.kill();
            reader.join(30_000);
            writer.interrupt();
            writer.join(30_000);
            c.close();
            int acknowledged = acks.get();

            NbdClientsIT.waitFor(() -> !"Connected".equals(p.status(p.beta).path("connection").asText()),
                    "beta to notice the Primary is gone");
            // Promotion waits (exit 11) while writes received from the dead Primary are still
            // being applied; an operator retries, and so does this test.
            NbdClientsIT.waitFor(() -> p.beta.ctl("primary", "r0").exit() == 0, "beta to accept promotion");
            assertEquals("Primary", p.status(p.beta).path("role").asText());

            int checked = 0;
            try (NbdTestClient b = NbdTestClient.open(p.socket(p.beta), "r0")) {
                byte[] got = new byte[BLOCK];
                for (int block = 0; block < BLOCKS; block++) {
                    long want = acked.get(block);
                    if (want == 0) {
                        continue;
                    }
                    assertEquals(0, b.read((long) block * BLOCK, got));
                    ByteBuffer bb = ByteBuffer.wrap(got);
                    int stampedBlock = bb.getInt();
                    long version = bb.getLong();
                    assertEquals(block, stampedBlock, "block " + block + " holds another block's data");
                    long max;
                    synchronized (sentMax) {
                        max = sentMax[block];
                    }
                    assertTrue(version >= want && version <= max, "block " + block + ": acknowledged version "
                            + want + " but the new Primary holds version " + version + " (latest sent " + max + ")");
                    checked++;
                }
            }
            assertTrue(checked > 500, "checked " + checked + " blocks of " + acknowledged + " acknowledged writes");
        }
    }
}
