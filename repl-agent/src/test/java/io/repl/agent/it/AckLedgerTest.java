package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.agent.it.AckLedger.Kind;
import io.repl.agent.it.AckLedger.Report;
import io.repl.agent.it.AckLedger.Violation;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ledger's judgement without any NBD: a fake block source serves exactly the bytes a
 * case needs, and every kind of loss must be named, while every legitimate outcome (the
 * acknowledged version, or a later one that was in flight) must pass.
 */
class AckLedgerTest {
    @TempDir
    Path dir;

    /** Blocks held in memory; a missing block reads as zeroes, a block in {@code broken} fails. */
    private static final class FakeDisk implements AckLedger.BlockSource {
        final Map<Integer, byte[]> data = new HashMap<>();
        final Map<Integer, String> broken = new HashMap<>();
        final AtomicInteger reads = new AtomicInteger();

        @Override
        public byte[] read(int block) throws IOException {
            reads.incrementAndGet();
            if (broken.containsKey(block)) {
                throw new IOException(broken.get(block));
            }
            return data.getOrDefault(block, new byte[AckLedger.BLOCK]).clone();
        }
    }

    /** Sends and acknowledges one write, and (if {@code lands}) puts it on the disk. */
    private static long write(AckLedger l, FakeDisk d, int block, boolean ack, boolean lands) {
        long v = l.nextVersion();
        l.sent(block, v);
        if (lands) {
            d.data.put(block, AckLedger.stamp(block, v));
        }
        if (ack) {
            l.acknowledged(block, v);
        }
        return v;
    }

    private static List<Kind> kinds(Report r) {
        return r.violations().stream().map(Violation::kind).toList();
    }

    @Test
    void everyAcknowledgedWriteInPlacePasses() {
        AckLedger l = new AckLedger(64);
        FakeDisk d = new FakeDisk();
        for (int i = 0; i < 200; i++) {
            write(l, d, (i * 7) % 50, true, true);
        }
        Report r = l.verify(d, "fake").assertOk();
        assertEquals(50, r.checked());
        assertEquals(50, l.acknowledgedBlocks());
        assertEquals(50, d.reads.get(), "only acknowledged blocks are read");
    }

    @Test
    void aLaterVersionThatWasInFlightPassesButAnOlderOneIsALoss() {
        AckLedger l = new AckLedger(8);
        FakeDisk d = new FakeDisk();
        write(l, d, 1, true, true);
        write(l, d, 1, false, true); // sent, landed, reply lost with the server: allowed
        long acked = write(l, d, 2, true, true);
        write(l, d, 2, true, false); // acknowledged but never landed: the old one is still there
        Report r = l.verify(d, "fake");
        assertEquals(2, r.checked());
        assertEquals(List.of(Kind.OLDER_THAN_ACKED), kinds(r));
        Violation v = r.violations().get(0);
        assertEquals(2, v.block());
        assertEquals("v" + acked, v.found());
    }

    @Test
    void everyKindOfViolationIsNamed() {
        AckLedger l = new AckLedger(16);
        FakeDisk d = new FakeDisk();
        for (int b = 0; b < 8; b++) {
            write(l, d, b, true, true);
        }
        // 0: holds block 5's data; 1: a version never sent to it; 2: zeroes; 3: torn;
        // 4: unreadable; 5: short read; 6 and 7 are fine.
        d.data.put(0, AckLedger.stamp(5, l.ackedVersion(5)));
        d.data.put(1, AckLedger.stamp(1, l.lastVersion() + 10));
        d.data.remove(2);
        byte[] torn = AckLedger.stamp(3, l.ackedVersion(3));
        System.arraycopy(AckLedger.stamp(3, 1), 2048, torn, 2048, 2048);
        d.data.put(3, torn);
        d.broken.put(4, "EIO from the fake");
        d.data.put(5, new byte[100]);
        Report r = l.verify(d, "fake");
        assertEquals(8, r.checked());
        assertEquals(List.of(Kind.OTHER_BLOCK, Kind.NEWER_THAN_SENT, Kind.NOT_A_STAMP, Kind.NOT_A_STAMP,
                Kind.UNREADABLE, Kind.UNREADABLE), kinds(r));
        assertEquals("all zeroes", r.violations().get(2).found());
        assertTrue(r.violations().get(3).found().contains("torn"), r.violations().get(3).found());
        assertTrue(r.violations().get(4).found().contains("EIO from the fake"));

        AssertionError e = assertThrows(AssertionError.class, r::assertOk);
        assertTrue(e.getMessage().startsWith("fake: 6 of 8 acknowledged blocks violate the ledger"), e.getMessage());
        assertTrue(e.getMessage().contains("NOT_A_STAMP=2") && e.getMessage().contains("UNREADABLE=2"),
                e.getMessage());
        assertTrue(e.getMessage().contains("block 0 OTHER_BLOCK"), e.getMessage());
    }

    @Test
    void aGarbageStampIsNotTakenForAVersion() {
        AckLedger l = new AckLedger(4);
        FakeDisk d = new FakeDisk();
        write(l, d, 3, true, true);
        byte[] junk = AckLedger.stamp(3, l.ackedVersion(3));
        junk[12] ^= 1; // the ~block check word of the first stamp
        d.data.put(3, junk);
        assertEquals(List.of(Kind.NOT_A_STAMP), kinds(l.verify(d, "fake")));
    }

    @Test
    void nothingAcknowledgedIsNotAPass() {
        AckLedger l = new AckLedger(4);
        FakeDisk d = new FakeDisk();
        write(l, d, 0, false, true);
        Report r = l.verify(d, "fake");
        assertTrue(r.ok());
        assertEquals(0, r.checked());
        AssertionError e = assertThrows(AssertionError.class, r::assertOk);
        assertTrue(e.getMessage().contains("nothing to verify"), e.getMessage());
    }

    @Test
    void acknowledgingWhatWasNeverSentIsABugInTheCaller() {
        AckLedger l = new AckLedger(4);
        assertThrows(IllegalStateException.class, () -> l.acknowledged(0, l.nextVersion()));
    }

    @Test
    void versionsStayGlobalAcrossSessionsSoTheLaterSessionWins() throws Exception {
        AckLedger l = new AckLedger(32);
        FakeDisk alpha = new FakeDisk();
        for (int i = 0; i < 40; i++) {
            write(l, alpha, i % 32, true, true);
        }
        // Failover: beta has what alpha acknowledged, then its own session writes on.
        FakeDisk beta = new FakeDisk();
        beta.data.putAll(alpha.data);
        long before = l.lastVersion();
        for (int i = 0; i < 10; i++) {
            assertTrue(write(l, beta, i, true, true) > before);
        }
        l.verify(beta, "beta").assertOk();
        // alpha, left behind, no longer holds the newest acknowledged data of blocks 0..9.
        Report stale = l.verify(alpha, "alpha");
        assertEquals(10, stale.violations().size());
        assertTrue(stale.violations().stream().allMatch(v -> v.kind() == Kind.OLDER_THAN_ACKED));
    }

    @Test
    void concurrentWritersKeepTheHighestAcknowledgedVersion() throws Exception {
        AckLedger l = new AckLedger(8);
        int threads = 4;
        CountDownLatch go = new CountDownLatch(1);
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            ts[t] = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 10_000; i++) {
                    long v = l.nextVersion();
                    l.sent(0, v);
                    l.acknowledged(0, v);
                }
            });
            ts[t].start();
        }
        go.countDown();
        for (Thread t : ts) {
            t.join(30_000);
        }
        assertEquals(40_000, l.lastVersion());
        assertEquals(40_000, l.ackedVersion(0));
        assertEquals(40_000, l.sentVersion(0));
    }

    @Test
    void verifyFileReadsTheDataAreaFromOffsetZero() throws Exception {
        AckLedger l = new AckLedger(16);
        Path file = dir.resolve("disk.img");
        Files.write(file, new byte[16 * AckLedger.BLOCK]);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            for (int b = 0; b < 16; b += 3) {
                long v = l.nextVersion();
                l.sent(b, v);
                l.acknowledged(b, v);
                ch.write(ByteBuffer.wrap(AckLedger.stamp(b, v)), (long) b * AckLedger.BLOCK);
            }
        }
        assertEquals(6, l.assertNothingLostInFile(file).checked());

        // A file cut short makes the blocks past its end unreadable, not a crash.
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(10L * AckLedger.BLOCK + 100);
        }
        Report r = l.verifyFile(file);
        assertEquals(List.of(Kind.UNREADABLE, Kind.UNREADABLE), kinds(r));
        assertEquals(List.of(12, 15), r.violations().stream().map(Violation::block).toList());
    }
    @Test
    void aSnapshotKeepsWhatWasAcknowledgedWhenItWasTakenAndIgnoresWhatCameLater() throws Exception {
        AckLedger l = new AckLedger(4);
        long v1 = l.nextVersion();
        l.sent(1, v1);
        l.acknowledged(1, v1);
        AckLedger before = l.snapshot();
        long v2 = l.nextVersion();
        l.sent(1, v2);
        l.acknowledged(1, v2);
        long v3 = l.nextVersion();
        l.sent(2, v3);
        l.acknowledged(2, v3);

        assertEquals(v1, before.ackedVersion(1));
        assertEquals(v1, before.sentVersion(1));
        assertEquals(0, before.ackedVersion(2));
        assertEquals(v1, before.lastVersion());
        assertEquals(v3, l.lastVersion(), "the snapshot is a copy: the ledger goes on");

        // A replica cut off at the snapshot: block 1 has v1, block 2 was never written there.
        FakeDisk cutOff = new FakeDisk();
        cutOff.data.put(1, AckLedger.stamp(1, v1));
        assertTrue(before.verify(cutOff, "cut off").ok());
        Report full = l.verify(cutOff, "cut off");
        assertEquals(List.of(Kind.OLDER_THAN_ACKED, Kind.NOT_A_STAMP), kinds(full),
                "against the full ledger the later writes are missing");
    }
}
