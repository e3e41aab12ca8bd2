package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of either agent part way through a full sync and part way through a bitmap resync:
 * the restarted agent resumes the resync from where it was, and online verify then finds the
 * copies equal. The link runs through {@link ThrottlingProxy} so that the kill lands mid-sync;
 * the bytes the resync sends after the restart are measured with the agents' own counters
 * (status {@code traffic.resyncBytesOut} and {@code traffic.resyncBytesIn}, since the agent started)
 * against what was left. Once the resync finished, {@code replctl verify} runs on the connected
 * pair to its end and must report 0 blocks out of sync.
 */
class ResyncResumeIT {
    private static final long LINK_BYTES_PER_SECOND = 24_000_000L;
    private static final long DISK = 160L << 20;
    private static final long MIB = 1L << 20;
    /**
     * What a resumed resync may redo beyond what was left when status was last read: the
     * progress between that read and the kill, what was in flight (16 requests of 1 MiB), and
     * the last tick of progress that had not reached the bitmap on disk.
     */
    private static final long REDO_ALLOWANCE = 32 * MIB;
    @TempDir
    Path dir;

    /** Two agents, each reaching the other through a throttled proxy, with verify's handlers. */
    private ThrottledPair pair() throws Exception {
        return new ThrottledPair(dir, DISK, LINK_BYTES_PER_SECOND, "C", "ping-interval = \"1s\"",
                "ping-timeout = \"1s\"");
    }

    /** Fills {@code bytes} of {@code n}'s backing file from {@code offset} with seeded random data. */
    private static void fillRandom(ThrottledPair p, AgentProcess n, long bytes, long seed) throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        byte[] chunk = new byte[(int) MIB];
        try (FileChannel ch = FileChannel.open(p.disk(n), StandardOpenOption.WRITE)) {
            for (long done = 0; done < bytes; done += chunk.length) {
                random.nextBytes(chunk);
                ch.write(ByteBuffer.wrap(chunk), done);
            }
        }
    }

    /** Waits until beta is SyncTarget with at most {@code leftBytes} to fetch; returns what it reports left. */
    private static long awaitTargetWithLeft(ThrottledPair p, long leftBytes) throws Exception {
        long[] left = new long[1];
        NbdClientsIT.waitFor(() -> {
            JsonNode s = p.status(p.beta);
            left[0] = s.path("outOfSyncBytes").asLong();
            return "SyncTarget".equals(s.path("replication").asText()) && left[0] <= leftBytes;
        }, "beta SyncTarget with at most " + leftBytes + " bytes left", 120);
        return left[0];
    }

    private static void awaitInSync(ThrottledPair p) throws Exception {
        NbdClientsIT.waitFor(() -> {
            JsonNode a = p.status(p.alpha);
            JsonNode b = p.status(p.beta);
            return "Established".equals(a.path("replication").asText())
                    && "UpToDate".equals(a.path("disk").asText()) && "UpToDate".equals(b.path("disk").asText())
                    && a.path("outOfSyncBytes").asLong() == 0 && b.path("outOfSyncBytes").asLong() == 0;
        }, "both UpToDate and in sync", 120);
    }

    /** A full initial sync of random data from alpha, just started. Returns the pair. */
    private ThrottledPair fullSyncStarted(OnlineVerify[] verify) throws Exception {
        ThrottledPair p = pair();
        verify[0] = OnlineVerify.configure(dir, "sha256", p.alpha, p.beta);
        fillRandom(p, p.alpha, DISK, 1);
        p.startConnected();
        p.alpha.ctlNow("primary", "r0", Map.of("force", true));
        return p;
    }

    /**
     * An in-sync pair on zeroed disks; then, disconnected, alpha writes {@code dirtyMib} MiB of
     * random data and is taken down and up again, which empties its activity log (a kill of a
     * node whose log still holds those extents resyncs them again, as after any crash);
     * reconnected, the bitmap resync runs from alpha.
     */
    private ThrottledPair bitmapResyncStarted(int dirtyMib, OnlineVerify[] verify) throws Exception {
        ThrottledPair p = pair();
        verify[0] = OnlineVerify.configure(dir, "sha256", p.alpha, p.beta);
        p.startConnected();
        p.alpha.ctlNow("new-current-uuid", "r0", Map.of("clear-bitmap", true));
        p.alpha.ctlNow("primary", "r0", Map.of("force", false));
        p.alpha.ctlNow("disconnect", "r0", Map.of());
        Path data = dir.resolve("dirty.bin");
        try (FileChannel ch = FileChannel.open(data, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            SplittableRandom random = new SplittableRandom(2);
            byte[] chunk = new byte[(int) MIB];
            for (int i = 0; i < dirtyMib; i++) {
                random.nextBytes(chunk);
                ch.write(ByteBuffer.wrap(chunk));
            }
        }
        Cmd.run("nbdcopy", data.toString(), p.uri(p.alpha)).ok();
        JsonNode apart = p.status(p.alpha);
        assertEquals((long) dirtyMib * MIB, apart.path("outOfSyncBytes").asLong(), apart.toString());
        p.alpha.ctlNow("down", "r0", Map.of());
        p.alpha.ctlNow("up", "r0", Map.of());
        return p;
    }

    /**
     * Kills {@code victim} once beta has about 60 % of {@code totalBytes} left, restarts it,
     * waits for the resync to finish and checks what it sent after the restart; then verifies.
     */
    private void killAndResume(ThrottledPair p, OnlineVerify verify, AgentProcess victim, long totalBytes)
            throws Exception {
        long left = awaitTargetWithLeft(p, totalBytes * 6 / 10);
        victim.kill();
        String seen = "left at the kill: " + left / MIB + " MiB of " + totalBytes / MIB + " MiB";
        victim.start();
        awaitInSync(p);
        // Counted by the restarted agent since it started: the source's sends, or the target's receipts.
        long after = victim == p.alpha ? p.status(p.alpha).path("traffic").path("resyncBytesOut").asLong()
                : p.status(p.beta).path("traffic").path("resyncBytesIn").asLong();
        seen += "; resent after the restart: " + after / MIB + " MiB";
        System.out.println("[ResyncResumeIT] kill -9 of " + victim.node + ": " + seen);
        assertTrue(after > 0, "the resync went on after the restart: " + seen);
        assertTrue(after <= left + REDO_ALLOWANCE, "the resumed resync sent " + after / MIB + " MiB; "
                + left / MIB + " MiB were left (" + seen + ")");
        assertTrue(after < totalBytes * 3 / 4, "well under what the whole resync moves: " + seen);
        verifyClean(p, verify);
    }

    /**
     * On the connected pair, {@code replctl verify} on alpha runs to its end and finds 0 blocks
     * out of sync, a run stopped by a lost connection having found none either; the backing
     * files' data areas are then equal too.
     */
    private static void verifyClean(ThrottledPair p, OnlineVerify verify) throws Exception {
        OnlineVerify.Outcome run = verify.runToEnd(p.alpha, () -> awaitInSync(p));
        assertEquals("0", run.blocks(), run + "\n" + p.alpha.log());
        for (String stop : run.stops()) {
            assertTrue(stop.contains("; 0 blocks found out of sync so far"), "a stopped verify found blocks: " + stop);
        }
        assertTrue(p.alpha.log().contains("online verify finished from offset 0: 0 blocks out of sync"),
                p.alpha.log());
        assertFalse(Files.exists(verify.env(p.alpha, "out-of-sync")), "a clean verify runs no out-of-sync handler");
        long data = p.status(p.alpha).path("sizeBytes").asLong();
        assertEquals("Established", p.status(p.alpha).path("replication").asText());
        assertEquals(PairFixture.sha256(p.disk(p.alpha), data), PairFixture.sha256(p.disk(p.beta), data),
                "the copies are identical");
    }

    @Test
    void fullSyncResumesAfterTheSyncSourceIsKilled() throws Exception {
        OnlineVerify[] verify = new OnlineVerify[1];
        try (ThrottledPair p = fullSyncStarted(verify)) {
            killAndResume(p, verify[0], p.alpha, p.status(p.alpha).path("sizeBytes").asLong());
        }
    }

    @Test
    void fullSyncResumesAfterTheSyncTargetIsKilled() throws Exception {
        OnlineVerify[] verify = new OnlineVerify[1];
        try (ThrottledPair p = fullSyncStarted(verify)) {
            killAndResume(p, verify[0], p.beta, p.status(p.alpha).path("sizeBytes").asLong());
        }
    }

    @Test
    void bitmapResyncResumesAfterTheSyncSourceIsKilled() throws Exception {
        OnlineVerify[] verify = new OnlineVerify[1];
        try (ThrottledPair p = bitmapResyncStarted(128, verify)) {
            killAndResume(p, verify[0], p.alpha, 128 * MIB);
        }
    }

    @Test
    void bitmapResyncResumesAfterTheSyncTargetIsKilled() throws Exception {
        OnlineVerify[] verify = new OnlineVerify[1];
        try (ThrottledPair p = bitmapResyncStarted(128, verify)) {
            killAndResume(p, verify[0], p.beta, 128 * MIB);
        }
    }
}
