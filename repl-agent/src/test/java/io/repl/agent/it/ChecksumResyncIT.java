package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checksum resync and zero blocks between two real agents, measured with the resync traffic
 * counters of {@code status --json}: identical copies move almost nothing, corrupted blocks move
 * about their own size, and a mostly-zero volume syncs in full without its zeroes on the wire.
 */
class ChecksumResyncIT {
    private static final long DISK = 128L << 20;
    /** Written identically into both backing files; the internal metadata lives past it. */
    private static final long PAYLOAD = 112L << 20;
    private static final int CSUM_PIECE_BYTES = 32 << 10;
    @TempDir
    Path dir;

    /** A pair with {@code [disk] csums = true} whose copies hold the same random bytes, alpha Primary. */
    private PairFixture identicalPair() throws Exception {
        PairFixture p = new PairFixture(dir, DISK, "C");
        for (AgentProcess a : new AgentProcess[] {p.alpha, p.beta}) {
            Path config = a.configDir.resolve("r0.toml");
            Files.writeString(config, Files.readString(config).replace("[node.alpha]", "[disk]\ncsums = true\n[node.alpha]"));
            fill(p.disk(a), 0, PAYLOAD, 42);
        }
        p.startConnected();
        // Both copies are known to hold the same bytes: no initial sync.
        p.alpha.ctl("new-current-uuid", "--clear-bitmap", "r0").ok();
        NbdClientsIT.waitFor(() -> "UpToDate".equals(p.status(p.beta).path("disk").asText()), "beta UpToDate");
        p.alpha.ctl("primary", "r0").ok();
        return p;
    }

    private static void fill(Path file, long offset, long bytes, long seed) throws Exception {
        Random random = new Random(seed);
        byte[] chunk = new byte[1 << 20];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            for (long done = 0; done < bytes; done += chunk.length) {
                random.nextBytes(chunk);
                ch.write(ByteBuffer.wrap(chunk, 0, (int) Math.min(chunk.length, bytes - done)), offset + done);
            }
            ch.force(true);
        }
    }

    private static JsonNode traffic(PairFixture p, AgentProcess a) throws Exception {
        return p.status(a).path("traffic");
    }

    private static long resyncBytes(PairFixture p) throws Exception {
        return traffic(p, p.alpha).path("resyncBytesOut").asLong() + traffic(p, p.beta).path("resyncBytesOut").asLong();
    }

    @Test
    void invalidateOnIdenticalDataSendsUnderOnePercentOfTheVolume() throws Exception {
        try (PairFixture p = identicalPair()) {
            long data = p.dataBytes();
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "identical to begin with");
            long before = resyncBytes(p);
            long alphaBefore = traffic(p, p.alpha).path("resyncBytesOut").asLong();
            p.beta.ctl("invalidate", "r0").ok();
            NbdClientsIT.waitFor(() -> "Inconsistent".equals(p.status(p.beta).path("disk").asText())
                    || p.beta.log().contains("found in sync by checksum"), "the resync started");
            p.waitSynced();
            long both = resyncBytes(p) - before;
            long fromAlpha = traffic(p, p.alpha).path("resyncBytesOut").asLong() - alphaBefore;
            assertTrue(fromAlpha > 0 && both > fromAlpha, "requests and answers crossed: " + fromAlpha + ", " + both);
            assertTrue(both <= data / 100, "resync traffic both ways " + both + " bytes for a " + data
                    + "-byte volume: more than 1 %");
            assertTrue(p.beta.log().contains("0 bytes received, " + data + " bytes found in sync by checksum"),
                    "the whole volume matched:\n" + p.beta.log());
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data));
            assertEquals(0, p.status(p.beta).path("outOfSyncBytes").asLong());
        }
    }

    @Test
    void afterCorruptingBlocksOfTheSecondaryOnlyTheirPiecesTravel() throws Exception {
        try (PairFixture p = identicalPair()) {
            long data = p.dataBytes();
            long[] corrupted = {0, 5L << 20, (17L << 20) + 12288, 64L << 20, PAYLOAD - 4096};
            try (FileChannel ch = FileChannel.open(p.disk(p.beta), StandardOpenOption.WRITE)) {
                for (long offset : corrupted) {
                    ch.write(ByteBuffer.wrap(new byte[4096]).put(0, (byte) 0x5a), offset);
                }
                ch.force(true);
            }
            assertNotEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "beta's copy differs behind its back");
            long blocksBefore = traffic(p, p.alpha).path("blockBytesOut").asLong();
            p.beta.ctl("invalidate", "r0").ok();
            NbdClientsIT.waitFor(() -> p.beta.log().contains("found in sync by checksum"), "the resync finished");
            p.waitSynced();
            long sent = traffic(p, p.alpha).path("blockBytesOut").asLong() - blocksBefore;
            assertEquals(corrupted.length * (long) CSUM_PIECE_BYTES, sent,
                    "one 32 KiB piece for each corrupted 4 KiB block, nothing else");
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "repaired");
        }
    }

    @Test
    void aFullSyncOfAMostlyZeroVolumeSendsItsZeroesAsZeroBlocksAndPunchesThemOut() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK, "C")) {
            long written = 4L << 20;
            fill(p.disk(p.alpha), 8L << 20, written, 7);
            // The target starts allocated and full of other bytes: every zero of the source must
            // replace something there.
            fill(p.disk(p.beta), 0, PAYLOAD, 11);
            long betaAllocatedBefore = allocatedBytes(p.disk(p.beta));
            assertTrue(betaAllocatedBefore >= PAYLOAD, "beta's file is allocated: " + betaAllocatedBefore);
            p.startConnected().initialSync();
            long data = p.dataBytes();
            JsonNode alpha = traffic(p, p.alpha);
            assertEquals(written, alpha.path("blockBytesOut").asLong(),
                    "only the written 4 MiB travelled as block bytes; the zeroes went as zero blocks");
            long sent = alpha.path("resyncBytesOut").asLong();
            assertTrue(sent >= written && sent <= written + data / 100, "resync frames " + sent + " bytes for "
                    + data + " bytes of volume with " + written + " written");
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "the copies are equal");
            System.out.println("[ChecksumResyncIT] full sync of " + data + " bytes with " + written + " written: "
                    + sent + " bytes of resync frames; beta allocated " + betaAllocatedBefore + " bytes before, "
                    + allocatedBytes(p.disk(p.beta)) + " after, alpha " + allocatedBytes(p.disk(p.alpha)));
            if (punchesHoles(dir)) {
                // The engine zeroes a range by punching a hole where the file system can: the
                // target ends no more allocated than the source, which has holes everywhere but
                // its written 4 MiB (and the metadata both keep).
                long alphaAllocated = allocatedBytes(p.disk(p.alpha));
                long betaAllocated = allocatedBytes(p.disk(p.beta));
                assertTrue(betaAllocated <= alphaAllocated + (1L << 20), "beta keeps " + betaAllocated
                        + " bytes allocated, alpha " + alphaAllocated + ", beta had " + betaAllocatedBefore);
            }
        }
    }

    /** Bytes the file system allocated to {@code file}. */
    private static long allocatedBytes(Path file) throws Exception {
        String[] blocks = Cmd.run("stat", "-c", "%b %B", file.toString()).ok().out().trim().split(" ");
        return Long.parseLong(blocks[0]) * Long.parseLong(blocks[1]);
    }

    /** Whether the file system under {@code dir} deallocates a punched range. */
    private static boolean punchesHoles(Path dir) throws Exception {
        Path probe = dir.resolve("punch-probe");
        Files.write(probe, new byte[1 << 20]);
        Cmd.Result r = Cmd.run("fallocate", "--punch-hole", "--keep-size", "--offset", "0", "--length",
                String.valueOf(1 << 20), probe.toString());
        boolean punched = r.exit() == 0 && allocatedBytes(probe) == 0;
        Files.delete(probe);
        return punched;
    }
}
