package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code replctl invalidate-remote}: the Primary's copy overwrites its peer's in full, which also
 * repairs blocks that rotted behind the agents' backs (no bitmap knows them), and the command's
 * refusals (exit 11) when the peer is Primary, while a resync runs, and without a connection.
 */
class InvalidateRemoteIT {
    private static final long DISK = 64L << 20;
    private static final long MIB = 1L << 20;
    @TempDir
    Path dir;

    @Test
    void thePeerIsResyncedInFullFromThisNodeAndTheRefusals() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK, "C").startConnected()) {
            p.alpha.ctl("new-current-uuid", "--clear-bitmap", "r0").ok();
            p.alpha.ctl("primary", "r0").ok();
            long dataBytes = p.dataBytes();
            Path data = dir.resolve("data.bin");
            try (FileChannel ch = FileChannel.open(data, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                byte[] chunk = new byte[(int) MIB];
                new SplittableRandom(3).nextBytes(chunk);
                for (int i = 0; i < 8; i++) {
                    ch.write(ByteBuffer.wrap(chunk));
                }
            }
            Cmd.run("nbdcopy", data.toString(), p.uri(p.alpha)).ok();
            // Beta's copy rots behind the agents' backs: 64 KiB of garbage no bitmap knows of.
            try (FileChannel ch = FileChannel.open(p.disk(p.beta), StandardOpenOption.WRITE)) {
                byte[] garbage = new byte[64 * 1024];
                new SplittableRandom(4).nextBytes(garbage);
                ch.write(ByteBuffer.wrap(garbage), 40 * MIB);
                ch.force(true);
            }
            assertNotEquals(PairFixture.sha256(p.disk(p.alpha), dataBytes), PairFixture.sha256(p.disk(p.beta), dataBytes));
            long blocksBefore = p.status(p.beta).path("traffic").path("blockBytesIn").asLong();

            Cmd.Result peerPrimary = p.beta.ctl("invalidate-remote", "r0");
            assertEquals(11, peerPrimary.exit(), peerPrimary.out() + peerPrimary.err());
            assertTrue(peerPrimary.err().contains("Primary"), peerPrimary.err());

            // Paused on beta, the resync waits, and a second invalidate-remote meets it.
            p.beta.ctl("pause-sync", "r0").ok();
            p.alpha.ctl("invalidate-remote", "r0").ok();
            NbdClientsIT.waitFor(() -> "PausedSyncT".equals(p.status(p.beta).path("replication").asText()),
                    "beta waits as PausedSyncT");
            JsonNode paused = p.status(p.beta);
            assertEquals("Inconsistent", paused.path("disk").asText(), paused.toString());
            assertEquals(dataBytes, paused.path("outOfSyncBytes").asLong(), "every block is to be fetched");
            assertEquals("Primary", p.status(p.alpha).path("role").asText(), "alpha goes on serving");
            Cmd.Result syncing = p.alpha.ctl("invalidate-remote", "r0");
            assertEquals(11, syncing.exit(), syncing.err());
            assertTrue(syncing.err().contains("PausedSyncS"), syncing.err());

            p.beta.ctl("resume-sync", "r0").ok();
            p.waitSynced();
            long received = p.status(p.beta).path("traffic").path("resyncBytesIn").asLong();
            long sent = p.status(p.alpha).path("traffic").path("resyncBytesOut").asLong();
            long blocks = p.status(p.beta).path("traffic").path("blockBytesIn").asLong() - blocksBefore;
            System.out.println("[InvalidateRemoteIT] " + received + " resync frame bytes and " + blocks
                    + " block bytes for a volume of " + dataBytes);
            // Every block is asked for once, in whole 1 MiB requests. The 8 MiB written travel as
            // blocks; the rest reads as zeroes on alpha and travels as zero blocks, without bytes
            // (beta's garbage among them). The frame bytes add only the messages' headers, far less
            // than one 4 KiB block, so no block went twice.
            long written = 8 * MIB;
            assertEquals(written, blocks, "the data blocks, once each");
            assertTrue(received >= written && received < written + 4096, "every block once: " + received);
            assertTrue(sent >= written && sent < written + 4096, "every block once: " + sent);

            p.beta.ctl("disconnect", "r0").ok();
            NbdClientsIT.waitFor(() -> !"Connected".equals(p.status(p.alpha).path("connection").asText()), "apart");
            Cmd.Result apart = p.alpha.ctl("invalidate-remote", "r0");
            assertEquals(11, apart.exit(), apart.err());
            assertTrue(apart.err().contains("not connected"), apart.err());

            p.alpha.ctl("down", "r0").ok();
            p.beta.ctl("down", "r0").ok();
            assertEquals(PairFixture.sha256(p.disk(p.alpha), dataBytes), PairFixture.sha256(p.disk(p.beta), dataBytes),
                    "the rotten blocks were repaired");
        }
    }
}
