package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The failover rules of docs/FAILOVER.md shown on real agents, each on a host of its own
 * (alpha, beta and the witness in three network namespaces on one bridge), with a client
 * writing stamped blocks through the Primary's export all the while and every acknowledged
 * write read back at the end ({@link AckLedger}): partitions with and without a witness, a
 * killed Primary, an orderly switchover, the witness killed, a one-way partition, and a
 * Primary cut off from both its peer and the witness.
 */
@Timeout(240)
class FailoverSafetyIT {
    private static final Duration ACKS = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private static void report(String test, String what) {
        System.out.println("[FailoverSafetyIT] " + test + ": " + what);
    }

    private static String ms(Duration d) {
        return d.toMillis() + " ms";
    }

    /** The latest handshake made {@code target} the resync's target and {@code source} its source. */
    private static void assertHandshake(NetnsPair p, String target, String source) throws Exception {
        AgentProcess t = target.equals("alpha") ? p.alpha : p.beta;
        String onTarget = NetnsPair.lastHandshake(t);
        String onSource = NetnsPair.lastHandshake(p.other(t));
        assertTrue(onTarget != null && onTarget.endsWith("SYNC_TARGET") && onSource != null
                && onSource.endsWith("SYNC_SOURCE"), target + " resyncs from " + source + ": " + target + " "
                + onTarget + ", " + source + " " + onSource);
    }

    /**
     * Show item 1. No witness, fencing outdate: a full partition while writing. alpha, the
     * Primary, notices and writes alone (its acknowledgements come again after the pause);
     * beta outdates itself to Consistent. alpha is then killed. A plain promotion of beta is
     * refused with exit 17 saying what beta knows (alpha lost without a goodbye) and what
     * --force risks; --force promotes it, and beta holds every write acknowledged up to the
     * partition. The writes alpha acknowledged alone are what --force gives up: they are
     * counted and must be missing, as the refusal warned.
     */
    @Test
    void withoutAWitnessAPartitionedPrimaryWritesAloneAndItsPeerIsPromotedOnlyWithForce() throws Exception {
        try (NetnsPair p = NetnsPair.create(dir, NetnsPair.Options.DEFAULTS).start()) {
            AckLedger ledger = new AckLedger(NetnsPair.BLOCKS);
            RecordingWriter w = p.writer(p.alpha, ledger);
            w.waitForAcks(2000, ACKS);

            w.resetLongestGap();
            p.hosts.cut("alpha", "beta");
            // Nothing alpha acknowledged from here on can have reached beta.
            AckLedger atCut = ledger.snapshot();
            long ackedAtCut = w.acknowledged();
            p.waitFor(() -> !p.connected(p.alpha), "alpha to notice the partition");
            w.waitForAcks(ackedAtCut + 1000, ACKS);
            RecordingWriter.Gap pause = w.longestGap();
            assertNotNull(pause);
            JsonNode alpha = p.status(p.alpha);
            assertEquals("Primary", alpha.path("role").asText(), alpha.toString());
            assertTrue(alpha.path("suspended").isNull(), "fencing outdate writes alone at once: " + alpha);
            report("item 1", "alpha writes alone after a pause of " + ms(pause.length()) + " (acknowledged "
                    + ackedAtCut + " before the partition)");

            p.waitFor(() -> !p.connected(p.beta), "beta to notice the partition");
            JsonNode beta = p.status(p.beta);
            assertEquals("Consistent", beta.path("disk").asText(), "beta outdates itself: " + beta);

            p.alpha.kill();
            RecordingWriter.Summary s = w.stop(Duration.ofSeconds(5));
            long alone = s.acknowledged() - ackedAtCut;
            assertTrue(alone >= 1000, "alpha acknowledged " + alone + " writes alone");

            Cmd.Result refused = p.promote(p.beta);
            assertEquals(17, refused.exit(), "beta cannot know what alpha wrote alone: " + refused.err());
            String why = refused.err();
            report("item 1", "replctl primary r0 on beta: exit 17: " + why.strip());
            assertTrue(why.contains("lost alpha") && why.contains("without a goodbye"), "how alpha was lost: " + why);
            assertTrue(why.contains("--force") && why.contains("would be lost"), "what --force risks: " + why);
            assertEquals("Secondary", p.status(p.beta).path("role").asText());

            p.promote(p.beta, "--force").ok();
            assertEquals("Primary", p.status(p.beta).path("role").asText());
            AckLedger.Report kept = p.verify(atCut, p.beta).assertOk();
            assertTrue(kept.checked() > 1000, "checked " + kept.checked() + " blocks");

            AckLedger.Report full = p.verify(ledger, p.beta);
            report("item 1", "alpha acknowledged " + alone + " writes alone after the partition; after --force, "
                    + full.violations().size() + " of " + full.checked() + " acknowledged blocks lack their last "
                    + "acknowledged write on beta " + full.counts());
            assertFalse(full.ok(), "the writes alpha acknowledged alone cannot be on beta");
            assertTrue(full.violations().size() <= alone, full.describe(5));
        }
    }

    /**
     * Show item 2. The same partition with a witness: alpha's writes resume only once the
     * witness granted its OUTDATE_PEER (the first acknowledgement after the pause comes after
     * the witness logged the grant), and beta's promotion is refused (17) because the witness
     * refuses it. alpha is killed and restarted while still partitioned; after the heal it
     * holds the newest data, beta resyncs from it, and alpha, promoted again, has every
     * acknowledged write, and so has beta.
     */
    @Test
    void withAWitnessAPartitionedPrimaryWritesAloneOnlyAfterTheGrantAndItsPeerIsRefused() throws Exception {
        try (NetnsPair p = NetnsPair.create(dir, NetnsPair.Options.DEFAULTS.withWitness()).start()) {
            AckLedger ledger = new AckLedger(NetnsPair.BLOCKS);
            RecordingWriter w = p.writer(p.alpha, ledger);
            w.waitForAcks(2000, ACKS);

            w.resetLongestGap();
            p.hosts.cut("alpha", "beta");
            long ackedAtCut = w.acknowledged();
            w.waitForAcks(ackedAtCut + 1000, ACKS);
            RecordingWriter.Gap pause = w.longestGap();
            String grant = NetnsPair.logLine(p.witness, "witness r0: alpha OUTDATE_PEER", ": GRANTED");
            assertNotNull(grant, "the witness granted alpha's request to write alone\n" + p.logs());
            Instant granted = NetnsPair.logTime(p.witness, "witness r0: alpha OUTDATE_PEER", ": GRANTED");
            assertFalse(pause.end().isBefore(granted), "alpha acknowledged a write alone at " + pause.end()
                    + ", before the witness's grant at " + granted);
            report("item 2", "alpha writes alone after a pause of " + ms(pause.length()) + "; first acknowledgement "
                    + Duration.between(granted, pause.end()).toMillis() + " ms after the witness logged: "
                    + grant.substring(grant.indexOf("witness r0:")));

            JsonNode alpha = p.replctlStatus(p.alpha);
            JsonNode wv = alpha.path("quorum").path("witness");
            assertTrue(wv.path("lastAnswer").asText().startsWith("outdate-peer granted"), alpha.toString());
            assertTrue(alpha.path("suspended").isNull(), alpha.toString());
            assertEquals("[\"alpha\"]", wv.path("holders").toString(), alpha.toString());

            p.waitFor(() -> !p.connected(p.beta), "beta to notice the partition");
            Cmd.Result refused = p.promote(p.beta);
            report("item 2", "replctl primary r0 on beta: exit " + refused.exit() + ": " + refused.err().strip());
            assertEquals(17, refused.exit(), refused.err());
            assertTrue(refused.err().contains("the witness refused"), refused.err());
            assertEquals("Secondary", p.status(p.beta).path("role").asText());

            p.alpha.kill();
            w.stop(Duration.ofSeconds(5));
            p.start(p.alpha);
            JsonNode restarted = p.status(p.alpha);
            report("item 2", "alpha restarted alone: " + restarted.path("role").asText() + ", "
                    + restarted.path("disk").asText() + " (" + restarted.path("diskReason").asText() + ")");
            p.hosts.heal("alpha", "beta");
            p.waitInSync();
            assertHandshake(p, "beta", "alpha");
            report("item 2", "after the heal beta resynced from alpha: alpha " + NetnsPair.lastHandshake(p.alpha)
                    + ", beta " + NetnsPair.lastHandshake(p.beta));
            p.promote(p.alpha).ok();
            p.verify(ledger, p.alpha).assertOk();
            p.verify(ledger, p.beta).assertOk();
        }
    }

    /**
     * Show item 3. The Primary killed with the link up and a witness: beta is promoted
     * without --force (retrying while the writes received from alpha are still being
     * applied), the client goes on writing on beta, and beta holds every acknowledged write.
     */
    @Test
    void withAWitnessTheSecondaryOfAKilledPrimaryTakesOverWithoutForceAndLosesNothing() throws Exception {
        try (NetnsPair p = NetnsPair.create(dir, NetnsPair.Options.DEFAULTS.withWitness()).start()) {
            AckLedger ledger = new AckLedger(NetnsPair.BLOCKS);
            RecordingWriter w = p.writer(p.alpha, ledger);
            w.waitForAcks(3000, ACKS);
            p.alpha.kill();
            long killed = System.nanoTime();
            RecordingWriter.Summary s = w.stop(Duration.ofSeconds(5));

            Cmd.Result promoted = p.promote(p.beta);
            assertEquals(0, promoted.exit(), "the witness decides: " + promoted.err() + p.logs());
            report("item 3", "beta promoted without --force " + (System.nanoTime() - killed) / 1_000_000
                    + " ms after the kill (" + s.acknowledged() + " writes acknowledged by alpha, " + s.unanswered()
                    + " unanswered)");
            JsonNode beta = p.status(p.beta);
            assertEquals("Primary", beta.path("role").asText());
            assertEquals("[\"beta\"]", beta.path("quorum").path("witness").path("holders").toString(), beta.toString());

            RecordingWriter w2 = p.writer(p.beta, ledger);
            w2.waitForAcks(2000, ACKS);
            assertEquals(0, w2.stop().failed());
            AckLedger.Report r = p.verify(ledger, p.beta).assertOk();
            assertTrue(r.checked() > 2000, "checked " + r.checked());
        }
    }

    /**
     * Show item 4. An orderly switchover, with and without a witness: alpha demotes
     * ({@code secondary}), beta is promoted, both without --force, and takes the writes; then
     * beta's agent is stopped with SIGTERM while the client writes, which is a goodbye, so
     * alpha is promoted without --force (with a witness, through the witness) and holds every
     * acknowledged write.
     */
    @ParameterizedTest(name = "witness {0}")
    @ValueSource(booleans = {true, false})
    void anOrderlySwitchoverAndAGoodbyeNeedNoForceAndLoseNothing(boolean withWitness) throws Exception {
        NetnsPair.Options o = withWitness ? NetnsPair.Options.DEFAULTS.withWitness() : NetnsPair.Options.DEFAULTS;
        try (NetnsPair p = NetnsPair.create(dir, o).start()) {
            AckLedger ledger = new AckLedger(NetnsPair.BLOCKS);
            RecordingWriter w = p.writer(p.alpha, ledger);
            w.waitForAcks(2000, ACKS);
            RecordingWriter.Summary s = w.stop();
            assertEquals(0, s.unanswered());
            assertEquals(0, s.failed());

            p.ctl(p.alpha, "secondary").ok();
            p.promote(p.beta).ok();
            assertEquals("Primary", p.status(p.beta).path("role").asText());
            RecordingWriter w2 = p.writer(p.beta, ledger);
            w2.waitForAcks(2000, ACKS);

            int exit = p.beta.stop();
            assertTrue(exit == 143 || exit == 0, "SIGTERM: exit " + exit);
            RecordingWriter.Summary s2 = w2.stop(Duration.ofSeconds(5));
            report("item 4" + (withWitness ? " (witness)" : " (no witness)"), "beta stopped with SIGTERM under the "
                    + "writer: " + s2.acknowledged() + " acknowledged, "
                    + s2.failed() + " failed, " + s2.unanswered() + " unanswered");
            p.waitFor(() -> !p.connected(p.alpha), "alpha to see beta go");
            JsonNode alpha = p.status(p.alpha);
            assertEquals("UpToDate", alpha.path("disk").asText(), "a goodbye keeps the disk UpToDate: " + alpha);
            assertTrue(alpha.path("diskReason").asText().startsWith("beta said goodbye"), alpha.toString());

            Cmd.Result promoted = p.promote(p.alpha);
            assertEquals(0, promoted.exit(), promoted.err() + p.logs());
            if (withWitness) {
                assertNotNull(NetnsPair.logLine(p.witness, "witness r0: alpha PROMOTE", ": GRANTED"),
                        "the promotion went through the witness\n" + p.logs());
            }
            assertEquals("Primary", p.status(p.alpha).path("role").asText());
            p.verify(ledger, p.alpha).assertOk();
        }
    }

    /**
     * Show item 6a. The witness is killed with kill -9 while the pair writes: the writes go on
     * while it is down (the peer is there), and the restarted witness still has its record on
     * disk (it says so at start), so when alpha is then killed beta is promoted without
     * --force through the restarted witness, and holds every acknowledged write.
     */
    @Test
    void theWitnessKilledAndRestartedKeepsItsRecordAndWritesNeverStop() throws Exception {
        try (NetnsPair p = NetnsPair.create(dir, NetnsPair.Options.DEFAULTS.withWitness()).start()) {
            AckLedger ledger = new AckLedger(NetnsPair.BLOCKS);
            RecordingWriter w = p.writer(p.alpha, ledger);
            w.waitForAcks(2000, ACKS);
            String generation = p.status(p.alpha).path("quorum").path("witness").path("generation").asText();

            w.resetLongestGap();
            p.witness.kill();
            p.waitFor(() -> !p.status(p.alpha).path("quorum").path("witness").path("reachable").asBoolean()
                    && !p.status(p.beta).path("quorum").path("witness").path("reachable").asBoolean(),
                    "both nodes to notice the witness is gone");
            long whileDown = w.acknowledged();
            w.waitForAcks(whileDown + 2000, ACKS);
            p.witness.start();
            p.waitFor(() -> p.witnessReachable(p.alpha) && p.witnessReachable(p.beta),
                    "both nodes back at the witness");
            long afterRestart = w.acknowledged();
            w.waitForAcks(afterRestart + 1000, ACKS);
            RecordingWriter.Gap gap = w.longestGap();
            report("item 6a", (afterRestart - whileDown) + " writes acknowledged while the witness was down; longest "
                    + "pause across the witness's death and restart: " + ms(gap.length()));
            String[] starts = p.witness.log().split("witness r0: serving nodes alpha and beta");
            assertEquals(3, starts.length, "two starts of the witness\n" + p.witness.log());
            assertTrue(starts[2].startsWith(" at " + p.hosts.ip("witness") + ":" + NetnsPair.WITNESS_PORT + "; record: "
                    + generation + " held by alpha and beta"), "the record survived kill -9: " + starts[2]);

            p.alpha.kill();
            w.stop(Duration.ofSeconds(5));
            Cmd.Result promoted = p.promote(p.beta);
            assertEquals(0, promoted.exit(), promoted.err() + p.logs());
            assertNotNull(NetnsPair.logLine(p.witness, "witness r0: beta PROMOTE", ": GRANTED"), p.logs());
            RecordingWriter w2 = p.writer(p.beta, ledger);
            w2.waitForAcks(1000, ACKS);
            w2.stop();
            p.verify(ledger, p.beta).assertOk();
        }
    }

    /**
     * Show item 6b. A one-way partition: alpha's packets no longer reach beta, beta's still
     * reach alpha. Both notice; alpha writes alone only after the witness's grant, beta's
     * promotion is refused, and after the heal beta resyncs and both hold every acknowledged
     * write.
     */
    @Test
    void aOneWayPartitionIsNoticedOnBothSidesAndResolvedByTheWitness() throws Exception {
        try (NetnsPair p = NetnsPair.create(dir, NetnsPair.Options.DEFAULTS.withWitness()).start()) {
            AckLedger ledger = new AckLedger(NetnsPair.BLOCKS);
            RecordingWriter w = p.writer(p.alpha, ledger);
            w.waitForAcks(2000, ACKS);

            w.resetLongestGap();
            p.hosts.cutOneWay("alpha", "beta");
            long ackedAtCut = w.acknowledged();
            p.waitFor(() -> !p.connected(p.alpha) && !p.connected(p.beta), "both sides to notice");
            w.waitForAcks(ackedAtCut + 1000, ACKS);
            RecordingWriter.Gap pause = w.longestGap();
            Instant granted = NetnsPair.logTime(p.witness, "witness r0: alpha OUTDATE_PEER", ": GRANTED");
            assertNotNull(granted, "alpha writes alone only with the witness's grant\n" + p.logs());
            assertFalse(pause.end().isBefore(granted), "alpha acknowledged a write alone at " + pause.end()
                    + ", before the witness's grant at " + granted);
            report("item 6b", "alpha writes alone after a pause of " + ms(pause.length()) + ", "
                    + Duration.between(granted, pause.end()).toMillis() + " ms after the grant");

            Cmd.Result refused = p.promote(p.beta);
            assertEquals(17, refused.exit(), refused.err());
            assertTrue(refused.err().contains("the witness refused"), refused.err());

            p.hosts.heal("alpha", "beta");
            p.waitInSync();
            assertHandshake(p, "beta", "alpha");
            w.waitForAcks(w.acknowledged() + 1000, ACKS);
            assertEquals(0, w.stop().failed());
            p.verify(ledger, p.alpha).assertOk();
            p.verify(ledger, p.beta).assertOk();
            p.assertIdentical();
        }
    }

    /**
     * Show item 6c. The Primary cut off from both its peer and the witness holds its writes
     * (no acknowledgement for seconds, status says why); beta, which still reaches the
     * witness, is promoted through it and takes the writes. When alpha reaches the witness
     * again it learns that it was deposed: it demotes itself (Secondary, Outdated) and fails
     * the writes it held, so its client sees errors and never an acknowledgement; once the
     * peer link heals, alpha resyncs from beta, and beta holds every acknowledged write.
     */
    @Test
    void aPrimaryCutOffFromPeerAndWitnessHoldsItsWritesAndIsDeposed() throws Exception {
        try (NetnsPair p = NetnsPair.create(dir, NetnsPair.Options.DEFAULTS.withWitness()).start()) {
            AckLedger ledger = new AckLedger(NetnsPair.BLOCKS);
            RecordingWriter w = p.writer(p.alpha, ledger);
            w.waitForAcks(2000, ACKS);

            // The witness first, so that alpha never gets to ask it.
            p.hosts.cut("alpha", "witness");
            p.hosts.cut("alpha", "beta");
            p.waitFor(() -> p.status(p.alpha).path("suspended").isObject(), "alpha to hold its writes");
            JsonNode held = p.replctlStatus(p.alpha);
            long ackedHeld = w.acknowledged();
            Thread.sleep(3000);
            assertEquals(ackedHeld, w.acknowledged(), "alpha acknowledged writes with neither peer nor witness");
            assertEquals(NetnsPair.DEPTH, w.outstanding(), w.toString());
            assertEquals(0, w.failed(), w.toString());
            report("item 6c", "alpha holds " + w.outstanding() + " writes: " + held.path("suspended"));
            assertEquals("Primary", held.path("role").asText());

            p.waitFor(() -> !p.connected(p.beta), "beta to notice the partition");
            Cmd.Result promoted = p.promote(p.beta);
            assertEquals(0, promoted.exit(), "beta reaches the witness: " + promoted.err() + p.logs());
            RecordingWriter w2 = p.writer(p.beta, ledger);
            w2.waitForAcks(1000, ACKS);

            p.hosts.heal("alpha", "witness");
            p.waitFor(() -> w.failed() > 0 || w.ended(), "alpha's held writes to fail");
            p.waitFor(() -> "Secondary".equals(p.status(p.alpha).path("role").asText()), "alpha to demote itself");
            JsonNode deposed = p.replctlStatus(p.alpha);
            assertEquals("Outdated", deposed.path("disk").asText(), deposed.toString());
            assertTrue(deposed.path("diskReason").asText().contains("deposed"), deposed.toString());
            RecordingWriter.Summary s = w.stop(Duration.ofSeconds(10));
            report("item 6c", "alpha deposed: " + deposed.path("diskReason").asText() + "; its client: "
                    + s.failed() + " writes failed (first errno " + w.firstErrno() + "), " + s.unanswered()
                    + " unanswered, " + (s.acknowledged() - ackedHeld) + " acknowledged after the hold began");
            assertEquals(ackedHeld, s.acknowledged(), "a deposed Primary acknowledged held writes");
            assertTrue(s.failed() >= NetnsPair.DEPTH, "the held writes fail: " + s);
            assertEquals(5, w.firstErrno(), "the held writes fail with EIO");
            assertTrue(deposed.path("suspended").isNull(), deposed.toString());

            p.hosts.heal("alpha", "beta");
            p.waitInSync();
            assertHandshake(p, "alpha", "beta");
            w2.waitForAcks(w2.acknowledged() + 1000, ACKS);
            assertEquals(0, w2.stop().failed());
            p.verify(ledger, p.beta).assertOk();
            p.verify(ledger, p.alpha).assertOk();
            p.assertIdentical();
        }
    }

    /**
     * alpha's metadata device fails, then its data disk, and it detaches, serving through beta:
     * its old disk never records the detach. beta cannot reach the witness, so the writes only
     * beta holds are not acknowledged (status says why) until the witness has recorded beta's
     * copy as the only current one; then they are. Both nodes die; alpha comes back alone on its
     * repaired devices and the witness refuses to promote it; beta comes back, alpha's old disk
     * resyncs from it, and both hold every acknowledged write.
     */
    @Test
    void aDetachedPrimarysWritesWaitForTheWitnessAndItsOldDiskIsNeverPromoted() throws Exception {
        long bytes = NetnsPair.Options.DEFAULTS.diskBytes();
        try (FaultyDevice data = FaultyDevice.start(dir, "alpha-data", bytes);
             FaultyDevice meta = FaultyDevice.start(dir, "alpha-meta", 8L << 20);
             NetnsPair p = NetnsPair.create(dir, NetnsPair.Options.DEFAULTS.withWitness()
                     .alphaOn(data.file, meta.file)).start()) {
            p.alsoLog("alpha's data device", data.log);
            p.alsoLog("alpha's metadata device", meta.log);
            AckLedger ledger = new AckLedger(NetnsPair.BLOCKS);
            RecordingWriter w = p.writer(p.alpha, ledger);
            // Every extent the writer touches is hot by now: no activity-log write is due.
            w.waitForAcks(4000, ACKS);

            // Whether or not beta notices the cut, nothing it tells the witness arrives.
            p.hosts.cut("beta", "witness");
            w.resetLongestGap();
            meta.failWrites(true);
            data.failWrites(true);
            p.waitFor(() -> "Diskless".equals(p.status(p.alpha).path("disk").asText()), "alpha to detach");
            p.waitFor(() -> p.status(p.alpha).path("suspended").isObject(), "alpha to hold its writes");
            JsonNode held = p.replctlStatus(p.alpha);
            assertTrue(held.path("suspended").toString().contains("Diskless: writes wait"), held.toString());
            assertEquals("Primary", held.path("role").asText(), held.toString());
            long ackedHeld = w.acknowledged();
            long heldSeenNanos = System.nanoTime();
            report("item 7", "alpha Diskless, " + w.outstanding() + " writes held: " + held.path("suspended"));

            p.hosts.heal("beta", "witness");
            w.waitForAcks(ackedHeld + 1000, ACKS);
            Instant recorded = NetnsPair.logTime(p.witness, "witness r0: beta OUTDATE_PEER", ": GRANTED");
            assertNotNull(recorded, "the witness recorded beta's copy\n" + p.logs());
            // One stretch without any acknowledgement covers the hold, from before it was seen in
            // status until after the witness's grant: nothing was acknowledged in between.
            RecordingWriter.Gap pause = w.longestGap();
            assertTrue(pause.startNanos() <= heldSeenNanos, "a write was acknowledged after the hold was seen");
            assertFalse(pause.end().isBefore(recorded), "a write served through beta was acknowledged at "
                    + pause.end() + ", before the witness recorded beta's copy at " + recorded);
            report("item 7", "writes resumed " + Duration.between(recorded, pause.end()).toMillis()
                    + " ms after the witness logged: " + NetnsPair.logLine(p.witness, "witness r0: beta OUTDATE_PEER",
                    ": GRANTED").replaceAll("^.*witness r0:", "witness r0:"));

            w.stop(Duration.ofSeconds(5));
            p.beta.kill();
            p.alpha.kill();
            meta.failWrites(false);
            data.failWrites(false);
            p.start(p.alpha);
            Cmd.Result refused = p.promote(p.alpha);
            report("item 7", "alpha back alone on its old disk, replctl primary: exit " + refused.exit() + ": "
                    + refused.err().strip());
            assertEquals(17, refused.exit(), refused.err());
            assertTrue(refused.err().contains("witness"), refused.err());

            p.start(p.beta);
            p.waitInSync();
            assertHandshake(p, "alpha", "beta");
            p.promote(p.beta).ok();
            p.assertNothingLost(ledger, p.beta);
            p.assertNothingLost(ledger, p.alpha);
            p.assertIdentical();
        }
    }
}
