package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of either agent part way through a full sync and part way through a bitmap resync:
 * the restarted agent resumes the resync from where it was. The link runs through
 * {@link ThrottlingProxy} so that the kill lands mid-sync; the bytes the resync sends after the
 * restart are measured with the agents' own counters (status {@code resync.sentBytes} and
 * {@code resync.receivedBytes}, since the agent started) against what was left, and the copies
 * are compared byte for byte afterwards.
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

    /** Two agents, each reaching the other through a throttled proxy. */
    private static final class ThrottledPair implements AutoCloseable {
        final Path dir;
        final AgentProcess alpha;
        final AgentProcess beta;
        private final ThrottlingProxy toAlpha;
        private final ThrottlingProxy toBeta;

        ThrottledPair(Path dir) throws Exception {
            this.dir = dir;
            alpha = new AgentProcess(dir, "alpha");
            beta = new AgentProcess(dir, "beta");
            int portA = PairFixture.freePort();
            int portB = PairFixture.freePort();
            toBeta = new ThrottlingProxy(portB, LINK_BYTES_PER_SECOND);
            toAlpha = new ThrottlingProxy(portA, LINK_BYTES_PER_SECOND);
            for (AgentProcess n : new AgentProcess[] {alpha, beta}) {
                try (FileChannel ch = FileChannel.open(disk(n), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                    ch.write(ByteBuffer.wrap(new byte[1]), DISK - 1);
                }
                int alphaAt = n == alpha ? portA : toAlpha.port();
                int betaAt = n == beta ? portB : toBeta.port();
                n.writeConfig("r0", String.join("\n", "protocol = \"C\"", "[net]", "shared-secret = \"s3cret\"",
                        "connect-retry = \"200ms\"", "ping-interval = \"1s\"", "ping-timeout = \"1s\"",
                        "[node.alpha]",
                        "address = \"127.0.0.1:" + alphaAt + "\"",
                        "disk = \"" + disk(alpha) + "\"",
                        "nbd-socket = \"" + dir.resolve("alpha.nbd") + "\"",
                        "[node.beta]",
                        "address = \"127.0.0.1:" + betaAt + "\"",
                        "disk = \"" + disk(beta) + "\"",
                        "nbd-socket = \"" + dir.resolve("beta.nbd") + "\"",
                        ""));
            }
        }

        Path disk(AgentProcess n) {
            return dir.resolve(n.node + ".img");
        }

        /** Fills {@code bytes} of {@code n}'s backing file from {@code offset} with seeded random data. */
        void fillRandom(AgentProcess n, long offset, long bytes, long seed) throws Exception {
            SplittableRandom random = new SplittableRandom(seed);
            byte[] chunk = new byte[(int) MIB];
            try (FileChannel ch = FileChannel.open(disk(n), StandardOpenOption.WRITE)) {
                for (long done = 0; done < bytes; done += chunk.length) {
                    random.nextBytes(chunk);
                    ch.write(ByteBuffer.wrap(chunk), offset + done);
                }
            }
        }

        void startConnected() throws Exception {
            alpha.start();
            beta.start();
            for (AgentProcess n : new AgentProcess[] {alpha, beta}) {
                n.ctl("create-md", "r0").ok();
                n.ctl("up", "r0").ok();
            }
            alpha.ctl("wait-connect", "r0", "--timeout", "60").ok();
        }

        JsonNode status(AgentProcess n) throws Exception {
            return n.statusNow("r0");
        }

        long dataBytes() throws Exception {
            return status(alpha).path("sizeBytes").asLong();
        }

        /** Waits until beta is SyncTarget with at most {@code leftBytes} to fetch; returns what it reports left. */
        long awaitTargetWithLeft(long leftBytes) throws Exception {
            long[] left = new long[1];
            NbdClientsIT.waitFor(() -> {
                JsonNode s = status(beta);
                left[0] = s.path("outOfSyncBytes").asLong();
                return "SyncTarget".equals(s.path("replication").asText()) && left[0] <= leftBytes;
            }, "beta SyncTarget with at most " + leftBytes + " bytes left", 120);
            return left[0];
        }

        void awaitInSync() throws Exception {
            NbdClientsIT.waitFor(() -> {
                JsonNode a = status(alpha);
                JsonNode b = status(beta);
                return "Established".equals(a.path("replication").asText())
                        && "UpToDate".equals(a.path("disk").asText()) && "UpToDate".equals(b.path("disk").asText())
                        && a.path("outOfSyncBytes").asLong() == 0 && b.path("outOfSyncBytes").asLong() == 0;
            }, "both UpToDate and in sync", 120);
        }

        /** Both down (flushed, detached), then the data areas of the two backing files compared. */
        void downAndCompare(long dataBytes) throws Exception {
            alpha.ctl("down", "r0").ok();
            beta.ctl("down", "r0").ok();
            assertEquals(PairFixture.sha256(disk(alpha), dataBytes), PairFixture.sha256(disk(beta), dataBytes),
                    "the copies are identical");
        }

        @Override
        public void close() throws Exception {
            try (ThrottlingProxy a = toAlpha; ThrottlingProxy b = toBeta; AgentProcess x = alpha; AgentProcess y = beta) {
                // closes all four, the agents first
            }
        }
    }

    /** A full initial sync of random data from alpha, about half done. Returns the pair. */
    private ThrottledPair halfwayThroughFullSync() throws Exception {
        ThrottledPair p = new ThrottledPair(dir);
        p.fillRandom(p.alpha, 0, DISK, 1);
        p.startConnected();
        p.alpha.ctl("primary", "--force", "r0").ok();
        return p;
    }

    /**
     * An in-sync pair on zeroed disks; then, disconnected, alpha writes {@code dirtyMib} MiB of
     * random data and is taken down and up again, which empties its activity log (a kill of a
     * node whose log still holds those extents resyncs them again, as after any crash);
     * reconnected, the bitmap resync runs from alpha.
     */
    private ThrottledPair bitmapResyncStarted(int dirtyMib) throws Exception {
        ThrottledPair p = new ThrottledPair(dir);
        p.startConnected();
        p.alpha.ctl("new-current-uuid", "--clear-bitmap", "r0").ok();
        p.alpha.ctl("primary", "r0").ok();
        p.alpha.ctl("disconnect", "r0").ok();
        Path data = dir.resolve("dirty.bin");
        try (FileChannel ch = FileChannel.open(data, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            SplittableRandom random = new SplittableRandom(2);
            byte[] chunk = new byte[(int) MIB];
            for (int i = 0; i < dirtyMib; i++) {
                random.nextBytes(chunk);
                ch.write(ByteBuffer.wrap(chunk));
            }
        }
        Cmd.run("nbdcopy", data.toString(), "nbd+unix:///r0?socket=" + dir.resolve("alpha.nbd")).ok();
        JsonNode apart = p.status(p.alpha);
        assertEquals((long) dirtyMib * MIB, apart.path("outOfSyncBytes").asLong(), apart.toString());
        p.alpha.ctl("down", "r0").ok();
        p.alpha.ctl("up", "r0").ok();
        return p;
    }

    /**
     * Kills {@code victim} once beta has about {@code leftBytes} left, restarts it, waits for
     * the resync to finish and checks what it sent after the restart.
     */
    private void killAndResume(ThrottledPair p, AgentProcess victim, long totalBytes) throws Exception {
        long dataBytes = p.dataBytes();
        long left = p.awaitTargetWithLeft(totalBytes * 6 / 10);
        victim.kill();
        List<String> seen = new ArrayList<>();
        seen.add("left at the kill: " + left / MIB + " MiB of " + totalBytes / MIB + " MiB");
        victim.start();
        p.awaitInSync();
        // Counted by the restarted agent since it started: the source's sends, or the target's receipts.
        long after = victim == p.alpha ? p.status(p.alpha).path("resync").path("sentBytes").asLong()
                : p.status(p.beta).path("resync").path("receivedBytes").asLong();
        seen.add("resent after the restart: " + after / MIB + " MiB");
        System.out.println("[ResyncResumeIT] kill -9 of " + victim.node + ": " + String.join("; ", seen));
        assertTrue(after > 0, "the resync went on after the restart: " + seen);
        assertTrue(after <= left + REDO_ALLOWANCE, "the resumed resync sent " + after / MIB + " MiB; "
                + left / MIB + " MiB were left (" + seen + ")");
        assertTrue(after < totalBytes * 3 / 4, "well under what the whole resync moves: " + seen);
        p.downAndCompare(dataBytes);
    }

    @Test
    void fullSyncResumesAfterTheSyncSourceIsKilled() throws Exception {
        try (ThrottledPair p = halfwayThroughFullSync()) {
            killAndResume(p, p.alpha, p.dataBytes());
        }
    }

    @Test
    void fullSyncResumesAfterTheSyncTargetIsKilled() throws Exception {
        try (ThrottledPair p = halfwayThroughFullSync()) {
            killAndResume(p, p.beta, p.dataBytes());
        }
    }

    @Test
    void bitmapResyncResumesAfterTheSyncSourceIsKilled() throws Exception {
        try (ThrottledPair p = bitmapResyncStarted(128)) {
            killAndResume(p, p.alpha, 128 * MIB);
        }
    }

    @Test
    void bitmapResyncResumesAfterTheSyncTargetIsKilled() throws Exception {
        try (ThrottledPair p = bitmapResyncStarted(128)) {
            killAndResume(p, p.beta, 128 * MIB);
        }
    }
}
