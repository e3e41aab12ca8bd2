package io.repl.core.uuid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SyncGenerationTest {
    private static final long A = 0xA1L;
    private static final long B = 0xB2L;
    private static final long H = 0xC3L;

    private static Verdict decide(GenerationUuids self, GenerationUuids peer) {
        return DecisionTable.decide(new HandshakeView(self, false, 0), new HandshakeView(peer, false, 1));
    }

    @Test
    void bothSidesDeriveTheSameFreshIdentifier() {
        GenerationUuids source = GenerationUuids.of(A, B, H);
        GenerationUuids target = GenerationUuids.of(0, 0);
        long sync = SyncGeneration.derive(source, target);
        assertEquals(sync, SyncGeneration.derive(source, target));
        assertNotEquals(0, sync);
        assertFalse(source.contains(sync) || target.contains(sync));
        assertNotEquals(sync, SyncGeneration.derive(GenerationUuids.of(A, 0, H), target), "other inputs, other identifier");
    }

    @Test
    void anInterruptedFullSyncDecidesABitmapResyncFromTheSameSource() {
        GenerationUuids source = GenerationUuids.of(A, B, H);
        GenerationUuids target = GenerationUuids.of(0, 0);
        assertEquals(SyncDecision.FULL_SYNC_SOURCE, decide(source, target).decision());
        long sync = SyncGeneration.derive(source, target);
        GenerationUuids during = SyncGeneration.asSource(source, sync);
        assertEquals(GenerationUuids.of(A, sync, B, H), during, "the old bitmap identifier moves into history");
        GenerationUuids targetDuring = SyncGeneration.asTarget(target, sync);
        assertTrue(SyncGeneration.resumesAsIs(during, targetDuring));
        assertEquals(new Verdict(SyncDecision.BITMAP_SYNC_SOURCE, DecisionRule.BITMAP_MATCHES_PEER_CURRENT),
                decide(during, targetDuring));
        // The source wrote alone meanwhile (a Primary that lost the target): still a bitmap resync.
        GenerationUuids wroteAlone = during.newCurrent(new SplittableRandom(1));
        assertEquals(sync, wroteAlone.bitmap());
        assertEquals(SyncDecision.BITMAP_SYNC_TARGET, decide(targetDuring, wroteAlone).decision());
        // And when it ends, both hold the source's identifiers after a resync.
        assertEquals(GenerationUuids.of(A, 0, sync, B, H), during.afterResyncAsSource());
    }

    @Test
    void aBitmapResyncThatAlreadyResumesKeepsItsIdentifiers() {
        GenerationUuids source = GenerationUuids.of(A, B, H);
        GenerationUuids target = GenerationUuids.of(B, 0, H);
        assertTrue(SyncGeneration.resumesAsIs(source, target));
        assertEquals(source, SyncGeneration.asSource(source, B));
    }
}
