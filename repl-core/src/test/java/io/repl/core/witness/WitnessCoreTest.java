package io.repl.core.witness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.protocol.WitnessReport;
import io.repl.protocol.WitnessRequest;
import io.repl.protocol.WitnessVerdict;
import io.repl.protocol.WitnessVerdict.Outcome;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The witness's decisions, one rule at a time, each from both nodes' side. */
class WitnessCoreTest {
    private static final String R = "r0";
    private static final int ALPHA = 0;
    private static final int BETA = 1;
    private static final long G1 = 0x1111;
    private static final long G2 = 0x2222;
    private static final long G3 = 0x3333;
    private static final long G4 = 0x4444;

    /** A store that remembers what was saved, and can be told to fail. */
    private static final class Store implements WitnessStore {
        final TreeMap<String, WitnessRecord> saved = new TreeMap<>();
        boolean failing;
        int saves;

        @Override
        public WitnessRecord load(String resource) {
            return saved.getOrDefault(resource, WitnessRecord.NONE);
        }

        @Override
        public void save(String resource, WitnessRecord record) throws IOException {
            if (failing) {
                throw new IOException("disk full");
            }
            saves++;
            saved.put(resource, record);
        }
    }

    private final Store store = new Store();
    private final WitnessCore witness = new WitnessCore(store);
    private long nextId = 1;

    private static WitnessReport inSync(long current, Long... ancestors) {
        return new WitnessReport(current, WitnessReport.IN_SYNC, List.of(ancestors));
    }

    private WitnessVerdict ask(int node, WitnessRequest.Kind kind, long previous, long next) {
        return witness.onRequest(R, node, new WitnessRequest(nextId++, kind, 0, previous, next));
    }

    /** Both nodes report G1 from an in-sync pair: the record exists, both hold it. */
    private void bothHold(long generation) {
        witness.onReport(R, ALPHA, inSync(generation));
        witness.onReport(R, BETA, inSync(generation));
    }

    @Test
    void aWitnessWithoutARecordGrantsNothingUntilBothNodesReported() {
        assertEquals(Outcome.NO_RECORD, ask(ALPHA, WitnessRequest.Kind.OUTDATE_PEER, G1, G2).outcome());
        assertEquals(Outcome.IGNORED, witness.onReport(R, ALPHA, inSync(G1)).outcome());
        assertEquals(Outcome.NO_RECORD, ask(BETA, WitnessRequest.Kind.PROMOTE, G1, G2).outcome(),
                "one node's report is not enough");
        WitnessVerdict both = witness.onReport(R, BETA, inSync(G1));
        assertEquals(Outcome.GRANTED, both.outcome());
        assertEquals(G1, both.generation());
        assertEquals(0b11, both.holders());
        assertEquals(store.saved.get(R), witness.record(R), "stored before it answered");
    }

    @Test
    void aReportThatIsNotFromAnInSyncPairChangesNothing() {
        bothHold(G1);
        WitnessVerdict v = witness.onReport(R, ALPHA, new WitnessReport(G2, 0, List.of(G1)));
        assertEquals(Outcome.IGNORED, v.outcome());
        assertEquals(G1, witness.record(R).generation());
    }

    @Test
    void theFirstNodeToAskIsGrantedAndTheOtherIsDeposed() {
        for (int first : new int[] {ALPHA, BETA}) {
            Store fresh = new Store();
            WitnessCore w = new WitnessCore(fresh);
            w.onReport(R, ALPHA, inSync(G1));
            w.onReport(R, BETA, inSync(G1));
            int second = 1 - first;
            WitnessVerdict grant = w.onRequest(R, first, new WitnessRequest(1, WitnessRequest.Kind.OUTDATE_PEER, 0, G1, G2));
            assertEquals(Outcome.GRANTED, grant.outcome());
            assertEquals(G2, grant.generation());
            assertEquals(1 << first, grant.holders());
            WitnessVerdict refusal = w.onRequest(R, second, new WitnessRequest(1, WitnessRequest.Kind.PROMOTE, 0, G1, G3));
            assertEquals(Outcome.DEPOSED, refusal.outcome(), "node " + second + " lost the race");
            assertEquals(G2, w.record(R).generation(), "a refusal changes nothing");
        }
    }

    @Test
    void aRetryOfAGrantedRequestIsGrantedAgain() {
        bothHold(G1);
        assertEquals(Outcome.GRANTED, ask(BETA, WitnessRequest.Kind.PROMOTE, G1, G2).outcome());
        int saves = store.saves;
        WitnessVerdict again = ask(BETA, WitnessRequest.Kind.PROMOTE, G1, G2);
        assertEquals(Outcome.GRANTED, again.outcome(), "the answer was lost; the node asks again");
        assertEquals(saves, store.saves, "nothing new to store");
        WitnessVerdict confirm = ask(BETA, WitnessRequest.Kind.OUTDATE_PEER, G1 + 7, G2);
        assertEquals(Outcome.GRANTED, confirm.outcome(), "a node whose generation is already its own confirms it");
    }

    @Test
    void aRequestFromAnotherGenerationIsNotGranted() {
        bothHold(G1);
        assertEquals(Outcome.UNKNOWN_GENERATION, ask(ALPHA, WitnessRequest.Kind.OUTDATE_PEER, G3, G4).outcome());
        assertEquals(G1, witness.record(R).generation());
    }

    @Test
    void aLateReportCannotBringBackANodeThatAGrantExcluded() {
        bothHold(G1);
        ask(ALPHA, WitnessRequest.Kind.OUTDATE_PEER, G1, G2);
        WitnessVerdict late = witness.onReport(R, BETA, inSync(G1));
        assertEquals(Outcome.IGNORED, late.outcome(), "G1 is older than the record");
        assertFalse(witness.record(R).holds(BETA));
        assertEquals(Outcome.DEPOSED, ask(BETA, WitnessRequest.Kind.PROMOTE, G1, G3).outcome());
    }

    @Test
    void anInSyncReportOfTheNewGenerationMakesBothHoldersAgain() {
        bothHold(G1);
        ask(ALPHA, WitnessRequest.Kind.OUTDATE_PEER, G1, G2);
        WitnessVerdict resynced = witness.onReport(R, BETA, inSync(G2, G1));
        assertEquals(Outcome.GRANTED, resynced.outcome());
        assertTrue(witness.record(R).holds(BETA));
        assertEquals(Outcome.GRANTED, ask(BETA, WitnessRequest.Kind.PROMOTE, G2, G3).outcome(),
                "after the resync beta may take over");
    }

    @Test
    void aPairThatMovedOnWithoutTheWitnessIsFollowedFromOneInSyncReport() {
        bothHold(G1);
        WitnessVerdict moved = witness.onReport(R, ALPHA, inSync(G3, G2, G1));
        assertEquals(Outcome.GRANTED, moved.outcome());
        assertEquals(G3, witness.record(R).generation());
        assertEquals(0b11, witness.record(R).holders());
    }

    @Test
    void anUnrelatedGenerationNeedsBothNodesReports() {
        bothHold(G1);
        assertEquals(Outcome.IGNORED, witness.onReport(R, ALPHA, inSync(G4)).outcome());
        assertEquals(G1, witness.record(R).generation());
        assertEquals(Outcome.GRANTED, witness.onReport(R, BETA, inSync(G4)).outcome());
        assertEquals(G4, witness.record(R).generation());
    }

    @Test
    void aForcedPromotionIsRecordedAndTheOtherNodeLearnsItWasForced() {
        bothHold(G1);
        WitnessVerdict forced = witness.onRequest(R, ALPHA, new WitnessRequest(1, WitnessRequest.Kind.FORCED, 0, G1, G2));
        assertEquals(Outcome.GRANTED, forced.outcome());
        assertTrue(witness.record(R).forced());
        WitnessVerdict other = ask(BETA, WitnessRequest.Kind.PROMOTE, G1, G3);
        assertEquals(Outcome.FORCED_ELSEWHERE, other.outcome());
        assertEquals(WitnessVerdict.FORCED, other.flags());
    }

    @Test
    void anOperatorsResumeIsRecordedWhileTheSenderHoldsTheRecord() {
        bothHold(G1);
        WitnessVerdict resumed = witness.onRequest(R, ALPHA, new WitnessRequest(1, WitnessRequest.Kind.RESUME, 0, G1, G2));
        assertEquals(Outcome.GRANTED, resumed.outcome(), resumed.detail());
        assertEquals(G2, witness.record(R).generation());
        assertEquals(1 << ALPHA, witness.record(R).holders());
        assertTrue(witness.record(R).forced());
        assertEquals(Outcome.FORCED_ELSEWHERE, ask(BETA, WitnessRequest.Kind.PROMOTE, G1, G3).outcome());
    }

    @Test
    void anOperatorsResumeIsRefusedOnceTheOtherNodeWasGranted() {
        bothHold(G1);
        assertEquals(Outcome.GRANTED, ask(BETA, WitnessRequest.Kind.PROMOTE, G1, G3).outcome());
        WitnessVerdict resumed = witness.onRequest(R, ALPHA, new WitnessRequest(2, WitnessRequest.Kind.RESUME, 0, G1, G2));
        assertEquals(Outcome.DEPOSED, resumed.outcome(), resumed.detail());
        assertEquals(G3, witness.record(R).generation(), "the record did not move");
        assertEquals(1 << BETA, witness.record(R).holders());
        assertFalse(witness.record(R).forced());
    }

    @Test
    void anInSyncClaimOfTheRecordsGenerationStandsInForAMissedReport() {
        witness.onReport(R, ALPHA, inSync(G1));
        witness.onReport(R, BETA, inSync(G1));
        ask(ALPHA, WitnessRequest.Kind.OUTDATE_PEER, G1, G2);
        // Beta resynced to G2 and held it in sync until the loss, but its report never arrived.
        WitnessVerdict claim = witness.onRequest(R, BETA,
                new WitnessRequest(9, WitnessRequest.Kind.PROMOTE, WitnessRequest.IN_SYNC, G2, G3));
        assertEquals(Outcome.GRANTED, claim.outcome());
        assertEquals(1 << BETA, witness.record(R).holders());
        WitnessVerdict stale = witness.onRequest(R, ALPHA,
                new WitnessRequest(10, WitnessRequest.Kind.OUTDATE_PEER, WitnessRequest.IN_SYNC, G2, G4));
        assertEquals(Outcome.DEPOSED, stale.outcome(), "a claim of an older generation proves nothing");
    }

    @Test
    void aRecordThatCannotBeStoredIsNeverAnswered() {
        bothHold(G1);
        store.failing = true;
        assertThrows(UncheckedIOException.class, () -> ask(ALPHA, WitnessRequest.Kind.OUTDATE_PEER, G1, G2));
        store.failing = false;
        assertEquals(G1, witness.record(R).generation(), "nothing was granted");
        assertEquals(Outcome.GRANTED, ask(BETA, WitnessRequest.Kind.PROMOTE, G1, G3).outcome());
    }

    @Test
    void theRecordSurvivesARestartOfTheWitness() {
        bothHold(G1);
        ask(ALPHA, WitnessRequest.Kind.OUTDATE_PEER, G1, G2);
        WitnessCore restarted = new WitnessCore(store);
        assertEquals(G2, restarted.record(R).generation());
        assertEquals(Outcome.DEPOSED, restarted.onRequest(R, BETA,
                new WitnessRequest(1, WitnessRequest.Kind.PROMOTE, 0, G1, G3)).outcome());
    }

    @Test
    void theAncestryRemembersEnoughToRecogniseLateReports() {
        bothHold(G1);
        long previous = G1;
        for (int i = 0; i < WitnessRecord.ANCESTRY_MAX + 3; i++) {
            long next = 0x9000 + i;
            assertEquals(Outcome.GRANTED, ask(i % 2, WitnessRequest.Kind.OUTDATE_PEER, previous, next).outcome());
            witness.onReport(R, 1 - i % 2, inSync(next, previous));
            previous = next;
        }
        WitnessRecord record = witness.record(R);
        assertEquals(WitnessRecord.ANCESTRY_MAX, record.ancestry().size());
        assertEquals(Outcome.IGNORED, witness.onReport(R, ALPHA, inSync(record.ancestry().get(0))).outcome());
    }

    @Test
    void aNodeIdOutsideThePairIsAProgrammingError() {
        assertThrows(IllegalArgumentException.class, () -> witness.onReport(R, 2, inSync(G1)));
    }
}
