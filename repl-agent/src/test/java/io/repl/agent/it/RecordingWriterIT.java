package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The recording writer against a real agent: it keeps its queue full across a server that
 * stops answering for longer than any client deadline (the agent frozen with SIGSTOP), goes
 * on when it thaws, hands its ledger to a second session, and ends quietly when the agent is
 * killed under it; every acknowledged write is then on the export and in the file.
 */
class RecordingWriterIT {
    private static final int BLOCKS = 4096;
    @TempDir
    Path dir;

    @Test
    void writesThroughAStallAndAKillAndLosesNothingAcknowledged() throws Exception {
        try (StandaloneFixture fx = new StandaloneFixture(dir, 32L << 20, 5, "")) {
            AckLedger ledger = new AckLedger(BLOCKS);
            RecordingWriter w = RecordingWriter.start(fx.socket, "r0", BLOCKS, ledger);
            w.waitForAcks(2000, Duration.ofSeconds(60));

            fx.agent.signal("STOP"); // returns once every thread of the agent has stopped
            NbdClientsIT.waitFor(() -> w.outstanding() == 16, "the writer's queue to fill against a frozen agent");
            long atStop = w.acknowledged();
            // Time itself is the point here: longer than NbdTestClient's 30 s reply deadline,
            // which the writer must not apply.
            Thread.sleep(32_000);
            long frozen = w.acknowledged();
            // Replies the agent wrote before it stopped may still be read after atStop was taken
            // (at most one queue's worth); a frozen agent answers nothing more.
            assertTrue(frozen - atStop <= 16, "acknowledgements from a frozen agent: " + atStop + " then " + frozen);
            assertEquals(16, w.outstanding(), "a full queue waits on the frozen agent: " + w);
            assertFalse(w.ended(), "the writer gave up on a stalled server: " + w);
            fx.agent.signal("CONT");
            w.waitForAcks(frozen + 2000, Duration.ofSeconds(60));
            RecordingWriter.Summary first = w.stop();
            assertEquals(0, first.unanswered(), "replies outstanding after a clean stop: " + w);
            assertNull(first.endedBy());
            assertEquals(0, first.failed());
            ledger.assertNothingLost(fx.socket, "r0");

            // A second session on the same ledger; the agent dies under it.
            long before = ledger.lastVersion();
            RecordingWriter w2 = RecordingWriter.start(fx.socket, "r0", BLOCKS, ledger,
                    RecordingWriter.Options.DEFAULTS.depth(4).fua(true));
            w2.waitForAcks(1000, Duration.ofSeconds(60));
            fx.agent.kill();
            NbdClientsIT.waitFor(w2::ended, "the writer to notice the agent died");
            RecordingWriter.Summary second = w2.stop(Duration.ofSeconds(5));
            assertNotNull(second.endedBy(), "a dead server is why the second session ended");
            assertTrue(ledger.lastVersion() > before + 1000);

            // Killed, not crashed: what the agent acknowledged is in the page cache, so in the file.
            AckLedger.Report r = ledger.assertNothingLostInFile(fx.disk);
            assertTrue(r.checked() > 1500, "checked only " + r.checked() + " blocks");
        }
    }
}
