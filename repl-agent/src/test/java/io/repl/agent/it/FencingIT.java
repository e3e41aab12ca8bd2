package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Show item 5: the Secondary killed (kill -9) while the Primary writes, under each way a
 * Primary may come to write alone. With fencing outdate it goes on after a pause bounded by
 * noticing the loss; with a witness, once the witness granted it; under
 * resource-and-stonith it holds every write until the fence-peer handler says the peer
 * cannot write (exit 3, 4, 7) or the operator runs resume-io (after 5 or 6). Each case ends
 * with the Secondary restarted and resynced, and every acknowledged write on both nodes.
 * The pauses are printed; the only timing asserted is a generous deadline.
 */
@Timeout(180)
class FencingIT {
    private static final Duration RESUME_DEADLINE = Duration.ofSeconds(30);
    /** How long a hold is watched for acknowledgements that must not come. */
    private static final long HELD_MS = 3000;

    @TempDir
    Path dir;
    /** Where the unfence-peer handler leaves its environment when it runs. */
    private Path unfenced;
    private Path unfenceHandler;

    @BeforeEach
    void unfenceHandler() throws Exception {
        unfenced = dir.resolve("unfence-peer.env");
        unfenceHandler = Files.writeString(dir.resolve("unfence-peer.sh"), String.join("\n",
                "#!/bin/sh",
                "env | grep '^REPL_' | sort > " + unfenced + ".tmp && mv " + unfenced + ".tmp " + unfenced,
                ""));
        assertTrue(unfenceHandler.toFile().setExecutable(true));
    }

    private static void report(String test, String what) {
        System.out.println("[FencingIT] " + test + ": " + what);
    }

    /**
     * The Secondary killed under fencing outdate without a witness: the Primary writes alone
     * as soon as it notices.
     */
    @Test
    void underOutdateThePrimaryGoesOnAloneAfterABoundedPause() throws Exception {
        try (NetnsPair p = NetnsPair.create(dir, NetnsPair.Options.DEFAULTS.unfencePeer(unfenceHandler)).start()) {
            assertEquals("outdate", p.status(p.alpha).path("fencing").asText());
            AckLedger ledger = new AckLedger(NetnsPair.BLOCKS);
            RecordingWriter w = p.writer(p.alpha, ledger);
            w.waitForAcks(2000, RESUME_DEADLINE);
            Pause pause = killSecondaryAndMeasure(p, w);
            report("outdate", "pause " + pause);
            JsonNode alpha = p.status(p.alpha);
            assertTrue(alpha.path("suspended").isNull(), alpha.toString());
            assertFalse(alpha.path("mayLoseWrites").asBoolean(), alpha.toString());
            // Nothing fenced beta: alpha went on because it saw beta go, and only a resync
            // brings beta back; there is nothing to unfence.
            restartSecondaryAndVerify(p, w, ledger, false);
        }
    }

    /**
     * The Secondary killed with a witness: the Primary writes alone once the witness recorded
     * the peer as outdated, and not before.
     */
    @Test
    void withAWitnessThePrimaryGoesOnAloneOnceTheWitnessAgrees() throws Exception {
        try (NetnsPair p = NetnsPair.create(dir, NetnsPair.Options.DEFAULTS.withWitness()
                .unfencePeer(unfenceHandler)).start()) {
            AckLedger ledger = new AckLedger(NetnsPair.BLOCKS);
            RecordingWriter w = p.writer(p.alpha, ledger);
            w.waitForAcks(2000, RESUME_DEADLINE);
            Pause pause = killSecondaryAndMeasure(p, w);
            Instant granted = NetnsPair.logTime(p.witness, "witness r0: alpha OUTDATE_PEER", ": GRANTED");
            assertNotNull(granted, "the witness granted alpha's request\n" + p.logs());
            assertFalse(pause.gap.end().isBefore(granted), "alpha acknowledged alone at " + pause.gap.end()
                    + ", before the witness's grant at " + granted);
            report("witness", "pause " + pause + "; first acknowledgement "
                    + Duration.between(granted, pause.gap.end()).toMillis() + " ms after the witness's grant");
            JsonNode alpha = p.status(p.alpha);
            String lastAnswer = alpha.path("quorum").path("witness").path("lastAnswer").asText();
            assertTrue(lastAnswer.startsWith("outdate-peer granted"), alpha.toString());
            restartSecondaryAndVerify(p, w, ledger, true);
        }
    }

    /**
     * resource-and-stonith: after the Secondary dies every write is held (none acknowledged,
     * none failed, the client's queue full) while the fence-peer handler runs; the handler
     * sees the resource, the peer and the peer's address. Exit 3, 4 and 7 mean the peer
     * cannot write, and the writes go on; 5 and 6 leave them held, status says so with the
     * exit code, and resume-io releases them.
     */
    @ParameterizedTest(name = "fence-peer exits {0}")
    @ValueSource(ints = {3, 4, 5, 6, 7})
    void resourceAndStonithHoldsWritesUntilTheHandlerOrTheOperatorReleasesThem(int exitCode) throws Exception {
        Path env = dir.resolve("fence-peer.env");
        Path release = dir.resolve("fence-peer.release");
        Path handler = Files.writeString(dir.resolve("fence-peer.sh"), String.join("\n",
                "#!/bin/sh",
                "env | grep '^REPL_' | sort > " + env + ".tmp && mv " + env + ".tmp " + env,
                // Hold until the test has watched the hold; a minute at most, as the agent allows.
                "i=0",
                "while [ ! -e " + release + " ] && [ $i -lt 1000 ]; do sleep 0.05; i=$((i+1)); done",
                "echo \"test handler: exit " + exitCode + "\"",
                "exit " + exitCode,
                ""));
        assertTrue(handler.toFile().setExecutable(true));
        String test = "resource-and-stonith, exit " + exitCode;
        try (NetnsPair p = NetnsPair.create(dir, NetnsPair.Options.DEFAULTS.fencing("resource-and-stonith")
                .fencePeer(handler).unfencePeer(unfenceHandler)).start()) {
            assertEquals("resource-and-stonith", p.status(p.alpha).path("fencing").asText());
            AckLedger ledger = new AckLedger(NetnsPair.BLOCKS);
            RecordingWriter w = p.writer(p.alpha, ledger);
            w.waitForAcks(2000, RESUME_DEADLINE);

            w.resetLongestGap();
            long killed = System.nanoTime();
            p.beta.kill();
            p.waitFor(() -> p.status(p.alpha).path("suspended").isObject(), "alpha to hold its writes");
            p.waitFor(() -> Files.exists(env), "the fence-peer handler to run");
            JsonNode held = p.status(p.alpha);
            assertTrue(held.path("suspended").path("reason").asText().contains("fence-peer"), held.toString());
            long ackedHeld = w.acknowledged();
            Thread.sleep(HELD_MS);
            assertEquals(ackedHeld, w.acknowledged(), "acknowledged while the fence-peer handler ran");
            assertEquals(NetnsPair.DEPTH, w.outstanding(), "the client's queue stays full: " + w);
            assertEquals(0, w.failed(), w.toString());

            Map<String, String> seen = handlerEnv(env);
            assertEquals("r0", seen.get("REPL_RESOURCE"), seen.toString());
            assertEquals("alpha", seen.get("REPL_NODE"), seen.toString());
            assertEquals("beta", seen.get("REPL_PEER"), seen.toString());
            assertEquals(p.address(p.beta), seen.get("REPL_PEER_ADDRESS"), seen.toString());

            Files.writeString(release, "go\n");
            String exited = "fence-peer exited " + exitCode;
            p.waitFor(() -> NetnsPair.logLine(p.alpha, exited) != null, "alpha to log: " + exited);
            if (exitCode == 5 || exitCode == 6) {
                JsonNode still = p.replctlStatus(p.alpha);
                String reason = still.path("suspended").path("reason").asText();
                assertTrue(reason.contains(exited), "the reason names the exit code: " + still);
                long ackedStill = w.acknowledged();
                Thread.sleep(HELD_MS);
                assertEquals(ackedStill, w.acknowledged(), "acknowledged after " + exited);
                assertEquals(ackedHeld, ackedStill, "acknowledged after " + exited);
                assertEquals(NetnsPair.DEPTH, w.outstanding(), w.toString());
                report(test, "writes stay held: " + reason);
                p.ctl(p.alpha, "resume-io").ok();
            }
            w.waitForAcks(ackedHeld + 1000, RESUME_DEADLINE);
            assertTrue(p.status(p.alpha).path("suspended").isNull(), p.status(p.alpha).toString());
            RecordingWriter.Gap gap = w.longestGap();
            report(test, "writes held: first acknowledgement " + (w.firstAckSinceReset() - killed) / 1_000_000
                    + " ms after the kill; longest stretch without one " + gap.length().toMillis() + " ms");
            assertEquals(0, w.failed(), w.toString());
            // Exits 3, 4 and 7 fenced beta; after 5 and 6 the operator released the writes and
            // nothing was fenced.
            restartSecondaryAndVerify(p, w, ledger, exitCode == 3 || exitCode == 4 || exitCode == 7);
        }
    }

    /**
     * What a kill of the Secondary cost the Primary's client: the longest stretch without an
     * acknowledgement from just before the kill until the writes had resumed, when it ended,
     * and when the first acknowledgement after the kill came (which may be one the peer had
     * already confirmed before it died).
     */
    private record Pause(RecordingWriter.Gap gap, long gapEndMs, long firstAckMs) {
        @Override
        public String toString() {
            return "longest stretch without an acknowledgement " + gap.length().toMillis() + " ms, ending " + gapEndMs
                    + " ms after the kill; first acknowledgement " + firstAckMs + " ms after the kill";
        }
    }

    /**
     * Kills beta's agent (kill -9) under the writer and waits until the writes resume, within
     * the generous deadline: 1000 acknowledgements more than at the kill.
     */
    private static Pause killSecondaryAndMeasure(NetnsPair p, RecordingWriter w) throws Exception {
        w.resetLongestGap();
        long killed = System.nanoTime();
        p.beta.kill();
        long atKill = w.acknowledged();
        w.waitForAcks(atKill + 1000, RESUME_DEADLINE);
        RecordingWriter.Gap gap = w.longestGap();
        assertNotNull(gap);
        assertEquals(0, w.failed(), w.toString());
        return new Pause(gap, (gap.endNanos() - killed) / 1_000_000, (w.firstAckSinceReset() - killed) / 1_000_000);
    }

    /**
     * Restarts beta's agent; it reconnects and resyncs from alpha while the writer goes on.
     * Then the writer stops and every acknowledged write must be on both nodes, whose data
     * areas must be identical. Once beta is in sync again, alpha runs unfence-peer if it had
     * fenced beta (with the resource, the peer and its address), and not otherwise.
     */
    private void restartSecondaryAndVerify(NetnsPair p, RecordingWriter w, AckLedger ledger, boolean unfence)
            throws Exception {
        long restart = System.nanoTime();
        p.start(p.beta);
        p.waitInSync();
        String decision = NetnsPair.lastHandshake(p.beta);
        assertTrue(decision != null && decision.endsWith("SYNC_TARGET"), "beta resyncs from alpha: " + decision);
        long synced = w.acknowledged();
        w.waitForAcks(synced + 500, RESUME_DEADLINE);
        RecordingWriter.Summary s = w.stop();
        System.out.println("[FencingIT] beta restarted and resynced (" + decision + ") in "
                + (System.nanoTime() - restart) / 1_000_000 + " ms; " + s.acknowledged()
                + " writes acknowledged in all");
        assertEquals(0, s.failed());
        assertEquals(0, s.unanswered());
        p.verify(ledger, p.alpha).assertOk();
        p.verify(ledger, p.beta).assertOk();
        p.assertIdentical();
        if (unfence) {
            p.waitFor(() -> Files.exists(unfenced), "alpha to run unfence-peer once beta is in sync");
            Map<String, String> seen = handlerEnv(unfenced);
            assertEquals("r0", seen.get("REPL_RESOURCE"), seen.toString());
            assertEquals("alpha", seen.get("REPL_NODE"), seen.toString());
            assertEquals("beta", seen.get("REPL_PEER"), seen.toString());
            assertEquals(p.address(p.beta), seen.get("REPL_PEER_ADDRESS"), seen.toString());
        } else {
            assertFalse(Files.exists(unfenced), "unfence-peer ran though nothing fenced beta");
            assertNull(NetnsPair.logLine(p.alpha, "handler r0/unfence-peer"), p.alpha.log());
        }
    }

    /** The {@code NAME=value} lines a test handler wrote with {@code env | grep '^REPL_'}. */
    static Map<String, String> handlerEnv(Path file) throws Exception {
        Map<String, String> seen = new TreeMap<>();
        for (String line : Files.readAllLines(file)) {
            int eq = line.indexOf('=');
            seen.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return seen;
    }
}
