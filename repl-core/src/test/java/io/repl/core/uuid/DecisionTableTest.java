package io.repl.core.uuid;

import static io.repl.core.uuid.Cleanup.SELF_MISSED_RESYNC_END;
import static io.repl.core.uuid.DecisionRule.BITMAPS_CROSS_REFERENCED;
import static io.repl.core.uuid.DecisionRule.BITMAP_MATCHES_PEER_CURRENT;
import static io.repl.core.uuid.DecisionRule.BOTH_JUST_CREATED;
import static io.repl.core.uuid.DecisionRule.CURRENT_EQUAL;
import static io.repl.core.uuid.DecisionRule.CURRENT_EQUAL_BOTH_CRASHED_PEER_LOWER_ID;
import static io.repl.core.uuid.DecisionRule.CURRENT_EQUAL_BOTH_CRASHED_SELF_LOWER_ID;
import static io.repl.core.uuid.DecisionRule.CURRENT_EQUAL_SELF_CRASHED_PRIMARY;
import static io.repl.core.uuid.DecisionRule.HISTORIES_CROSS_REFERENCED;
import static io.repl.core.uuid.DecisionRule.NO_COMMON_GENERATION;
import static io.repl.core.uuid.DecisionRule.PEER_BITMAP_MATCHES_CURRENT;
import static io.repl.core.uuid.DecisionRule.PEER_CURRENT_IN_HISTORY;
import static io.repl.core.uuid.DecisionRule.PEER_JUST_CREATED;
import static io.repl.core.uuid.DecisionRule.SPLIT_BRAIN_COMMON_BITMAP;
import static io.repl.core.uuid.DecisionRule.SPLIT_BRAIN_COMMON_HISTORY;
import static io.repl.core.uuid.SyncDecision.BITMAP_SYNC_SOURCE;
import static io.repl.core.uuid.SyncDecision.BITMAP_SYNC_TARGET;
import static io.repl.core.uuid.SyncDecision.FULL_SYNC_SOURCE;
import static io.repl.core.uuid.SyncDecision.FULL_SYNC_TARGET;
import static io.repl.core.uuid.SyncDecision.IN_SYNC;
import static io.repl.core.uuid.SyncDecision.NO_DATA;
import static io.repl.core.uuid.SyncDecision.SPLIT_BRAIN;
import static io.repl.core.uuid.SyncDecision.UNRELATED_DATA;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class DecisionTableTest {

    private static final long A = 0xA0;
    private static final long B = 0xB0;
    private static final long C = 0xC0;
    private static final long D = 0xD0;
    private static final long X = 0xE0;
    private static final long Y = 0xF0;

    /** One row of the table: the local view, the peer's view, and what the local node decides. */
    record Row(String name, HandshakeView self, HandshakeView peer, Verdict expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static HandshakeView node(int id, GenerationUuids uuids) {
        return new HandshakeView(uuids, false, id);
    }

    private static HandshakeView crashed(int id, GenerationUuids uuids) {
        return new HandshakeView(uuids, true, id);
    }

    private static GenerationUuids u(long current, long bitmap, long... history) {
        return GenerationUuids.of(current, bitmap, history);
    }

    private static Row row(String name, HandshakeView self, HandshakeView peer,
                           SyncDecision decision, DecisionRule rule) {
        return new Row(name, self, peer, new Verdict(decision, rule));
    }

    private static Row cleaned(String name, HandshakeView self, HandshakeView peer, SyncDecision decision,
                               DecisionRule rule, Cleanup cleanup) {
        return new Row(name, self, peer, new Verdict(decision, rule, cleanup));
    }

    static List<Row> table() {
        return List.of(
                row("fresh pair", node(1, u(0, 0)), node(2, u(0, 0)),
                        NO_DATA, BOTH_JUST_CREATED),
                row("peer fresh, we promoted with --force", node(1, u(A, 0)), node(2, u(0, 0)),
                        FULL_SYNC_SOURCE, PEER_JUST_CREATED),
                row("same generation", node(1, u(A, 0, X)), node(2, u(A, 0, X)),
                        IN_SYNC, CURRENT_EQUAL),
                cleaned("same generation, we missed the end of the resync we sourced",
                        node(1, u(A, X)), node(2, u(A, 0, X)), IN_SYNC, CURRENT_EQUAL, SELF_MISSED_RESYNC_END),
                cleaned("same generation, we missed the end and crashed as Primary since",
                        crashed(1, u(A, X, Y)), node(2, u(A, 0, X, Y)), BITMAP_SYNC_SOURCE,
                        CURRENT_EQUAL_SELF_CRASHED_PRIMARY, SELF_MISSED_RESYNC_END),
                cleaned("we missed the end, then lost the peer as Primary and wrote alone",
                        node(1, u(B, X, A, Y)), node(2, u(A, 0, X, Y)), BITMAP_SYNC_SOURCE,
                        BITMAP_MATCHES_PEER_CURRENT, SELF_MISSED_RESYNC_END),
                cleaned("we missed the end, the peer was promoted since",
                        node(1, u(A, X)), node(2, u(B, A, X)), BITMAP_SYNC_TARGET,
                        PEER_BITMAP_MATCHES_CURRENT, SELF_MISSED_RESYNC_END),
                row("both wrote alone after an end one of them missed: which one cannot be told, no correction",
                        node(1, u(B, X, A)), node(2, u(C, A, X)), SPLIT_BRAIN, SPLIT_BRAIN_COMMON_HISTORY),
                row("the target crashed before it recorded the end: it is still behind by the bitmap",
                        node(1, u(A, X)), node(2, u(X, 0)), BITMAP_SYNC_SOURCE, BITMAP_MATCHES_PEER_CURRENT),
                row("a source that saw the end, then wrote alone", node(1, u(B, A, X)), node(2, u(A, 0, X)),
                        BITMAP_SYNC_SOURCE, BITMAP_MATCHES_PEER_CURRENT),
                row("same generation, we crashed as Primary", crashed(1, u(A, 0)),
                        node(2, u(A, 0)), BITMAP_SYNC_SOURCE, CURRENT_EQUAL_SELF_CRASHED_PRIMARY),
                row("same generation, both crashed, our id lower", crashed(1, u(A, 0)),
                        crashed(2, u(A, 0)), BITMAP_SYNC_SOURCE,
                        CURRENT_EQUAL_BOTH_CRASHED_SELF_LOWER_ID),
                row("same generation, both crashed, peer id lower", crashed(3, u(A, 0)),
                        crashed(2, u(A, 0)), BITMAP_SYNC_TARGET,
                        CURRENT_EQUAL_BOTH_CRASHED_PEER_LOWER_ID),
                row("peer failed while we stayed Primary", node(1, u(B, A)), node(2, u(A, 0)),
                        BITMAP_SYNC_SOURCE, BITMAP_MATCHES_PEER_CURRENT),
                row("peer crashed as Primary, we were promoted", node(1, u(B, A)),
                        crashed(2, u(A, 0)), BITMAP_SYNC_SOURCE, BITMAP_MATCHES_PEER_CURRENT),
                row("we failed while the peer was Primary", node(1, u(A, 0)), node(2, u(B, A)),
                        BITMAP_SYNC_TARGET, PEER_BITMAP_MATCHES_CURRENT),
                row("we are behind, the peer's bitmap id is stale", node(1, u(A, X)),
                        node(2, u(B, A)), BITMAP_SYNC_TARGET, PEER_BITMAP_MATCHES_CURRENT),
                row("each bitmap names the other's current", node(1, u(A, B)), node(2, u(B, A)),
                        UNRELATED_DATA, BITMAPS_CROSS_REFERENCED),
                row("peer is an ancestor our bitmap no longer covers", node(1, u(C, B, A)),
                        node(2, u(A, 0)), FULL_SYNC_SOURCE, PEER_CURRENT_IN_HISTORY),
                row("peer is our oldest remembered ancestor", node(1, u(C, 0, X, Y, B, A)),
                        node(2, u(A, 0)), FULL_SYNC_SOURCE, PEER_CURRENT_IN_HISTORY),
                row("we are an ancestor the peer's bitmap no longer covers", node(1, u(A, 0)),
                        node(2, u(C, B, A)), FULL_SYNC_TARGET,
                        PEER_CURRENT_IN_HISTORY.mirror()),
                row("each history names the other's current", node(1, u(A, 0, B)),
                        node(2, u(B, 0, A)), UNRELATED_DATA, HISTORIES_CROSS_REFERENCED),
                row("both promoted while partitioned", node(1, u(B, A)), node(2, u(C, A)),
                        SPLIT_BRAIN, SPLIT_BRAIN_COMMON_BITMAP),
                row("both promoted, crashed flags do not matter", crashed(1, u(B, A)),
                        crashed(2, u(C, A)), SPLIT_BRAIN, SPLIT_BRAIN_COMMON_BITMAP),
                row("diverged with a common older generation", node(1, u(B, D, A)),
                        node(2, u(C, X, A)), SPLIT_BRAIN, SPLIT_BRAIN_COMMON_HISTORY),
                row("our bitmap base is in the peer's history", node(1, u(B, A)),
                        node(2, u(C, 0, A)), SPLIT_BRAIN, SPLIT_BRAIN_COMMON_HISTORY),
                row("peer's bitmap base is in our history", node(1, u(B, 0, A)),
                        node(2, u(C, A)), SPLIT_BRAIN, SPLIT_BRAIN_COMMON_HISTORY),
                row("nothing in common", node(1, u(A, B, C)), node(2, u(D, X, Y)),
                        UNRELATED_DATA, NO_COMMON_GENERATION));
    }

    static Stream<Row> rows() {
        return table().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decidesAsTheTableSays(Row row) {
        assertEquals(row.expected(), DecisionTable.decide(row.self(), row.peer()));
    }

    @ParameterizedTest(name = "{0}, seen from the peer")
    @MethodSource("rows")
    void thePeerReachesTheMirroredDecision(Row row) {
        assertEquals(row.expected().mirror(), DecisionTable.decide(row.peer(), row.self()));
    }

    @Test
    void everyRuleIsCoveredInBothDirections() {
        Set<DecisionRule> seen = EnumSet.noneOf(DecisionRule.class);
        Set<Cleanup> cleanups = EnumSet.noneOf(Cleanup.class);
        for (Row row : table()) {
            seen.add(row.expected().rule());
            seen.add(row.expected().rule().mirror());
            cleanups.add(row.expected().cleanup());
            cleanups.add(row.expected().cleanup().mirror());
        }
        assertEquals(EnumSet.allOf(DecisionRule.class), seen);
        assertEquals(EnumSet.allOf(Cleanup.class), cleanups);
    }

    @Test
    void aMissedResyncEndIsCorrectedToWhatTheSourceWouldHaveRecorded() {
        Random random = new Random(5);
        GenerationUuids source = GenerationUuids.of(X, 0).newCurrent(random::nextLong);
        GenerationUuids target = GenerationUuids.afterResyncAsTarget(source.afterResyncAsSource());
        assertEquals(source.afterResyncAsSource(), DecisionTable.afterMissedResyncEnd(source, target));
        // The source lost its peer as Primary before it saw the end: a generation of its own.
        GenerationUuids wroteAlone = source.newCurrent(random::nextLong);
        GenerationUuids expected = source.afterResyncAsSource().newCurrent(wroteAlone.current());
        assertEquals(expected, DecisionTable.afterMissedResyncEnd(wroteAlone, target));
        assertEquals(null, DecisionTable.afterMissedResyncEnd(target, wroteAlone), "the target missed nothing");
        assertEquals(null, DecisionTable.afterMissedResyncEnd(expected, target), "nothing left to correct");
    }

    @Test
    void mirrorHoldsForRandomViews() {
        Random random = new Random(42);
        long[] pool = {0, A, B, C, D};
        for (int trial = 0; trial < 50_000; trial++) {
            HandshakeView first = randomView(random, pool, 1);
            HandshakeView second = randomView(random, pool, 2);
            Verdict forward = DecisionTable.decide(first, second);
            assertEquals(forward.mirror(), DecisionTable.decide(second, first),
                    first + " vs " + second);
        }
    }

    private static HandshakeView randomView(Random random, long[] pool, int id) {
        long[] history = new long[GenerationUuids.HISTORY_SIZE];
        for (int i = 0; i < history.length; i++) {
            history[i] = pool[random.nextInt(pool.length)];
        }
        GenerationUuids uuids = GenerationUuids.of(pool[random.nextInt(pool.length)],
                pool[random.nextInt(pool.length)], history);
        return new HandshakeView(uuids, random.nextBoolean(), id);
    }

    @Test
    void bothCrashedWithTheSameIdIsAProgrammerError() {
        assertThrows(IllegalArgumentException.class, () -> DecisionTable.decide(
                crashed(1, u(A, 0)), crashed(1, u(A, 0))));
    }

    @Test
    void storiesBuiltFromTheOperationsReachTheDocumentedDecisions() {
        Random random = new Random(9);
        GenerationUuids alpha = GenerationUuids.EMPTY;
        GenerationUuids beta = GenerationUuids.EMPTY;
        assertEquals(NO_DATA, decide(alpha, beta));

        // primary --force on alpha starts the initial full sync.
        alpha = alpha.newCurrent(random::nextLong);
        assertEquals(FULL_SYNC_SOURCE, decide(alpha, beta));
        alpha = alpha.afterResyncAsSource();
        beta = GenerationUuids.afterResyncAsTarget(alpha);
        assertEquals(IN_SYNC, decide(alpha, beta));

        // beta fails while alpha is Primary: alpha starts a generation, beta catches up by bitmap.
        alpha = alpha.newCurrent(random::nextLong);
        assertEquals(BITMAP_SYNC_SOURCE, decide(alpha, beta));
        alpha = alpha.afterResyncAsSource();
        beta = GenerationUuids.afterResyncAsTarget(alpha);
        assertEquals(IN_SYNC, decide(alpha, beta));

        // alpha dies, beta is promoted; alpha comes back behind.
        beta = beta.newCurrent(random::nextLong);
        assertEquals(BITMAP_SYNC_TARGET, decide(alpha, beta));
        beta = beta.afterResyncAsSource();
        alpha = GenerationUuids.afterResyncAsTarget(beta);

        // Partition, both promoted: split brain, never merged.
        GenerationUuids alphaAlone = alpha.newCurrent(random::nextLong);
        GenerationUuids betaAlone = beta.newCurrent(random::nextLong);
        assertEquals(SPLIT_BRAIN, decide(alphaAlone, betaAlone));

        // The operator discards beta's changes: beta becomes alpha's bitmap-covered peer again.
        beta = GenerationUuids.afterResyncAsTarget(alphaAlone.afterResyncAsSource());
        assertEquals(IN_SYNC, decide(alphaAlone.afterResyncAsSource(), beta));

        // new-current-uuid --clear-bitmap on a fresh pair skips the initial sync.
        GenerationUuids skipped = GenerationUuids.EMPTY.newCurrentClearBitmap(random::nextLong);
        assertEquals(IN_SYNC, decide(skipped, skipped));
    }

    private static SyncDecision decide(GenerationUuids self, GenerationUuids peer) {
        return DecisionTable.decide(node(1, self), node(2, peer)).decision();
    }
}
