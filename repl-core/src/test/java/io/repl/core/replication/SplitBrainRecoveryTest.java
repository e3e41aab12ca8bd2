package io.repl.core.replication;

import static io.repl.core.replication.SplitBrainRecovery.Victim.NONE;
import static io.repl.core.replication.SplitBrainRecovery.Victim.PEER;
import static io.repl.core.replication.SplitBrainRecovery.Victim.SELF;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.AfterSplitBrain.OnePrimary;
import io.repl.core.replication.AfterSplitBrain.TwoPrimaries;
import io.repl.core.replication.AfterSplitBrain.ZeroPrimaries;
import io.repl.core.replication.SplitBrainRecovery.Side;
import io.repl.core.replication.SplitBrainRecovery.Victim;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SplitBrainRecoveryTest {

    record Row(String name, AfterSplitBrain policy, Side self, Side peer, Victim expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static AfterSplitBrain zero(ZeroPrimaries zero) {
        return new AfterSplitBrain(zero, OnePrimary.DISCONNECT, TwoPrimaries.DISCONNECT);
    }

    private static AfterSplitBrain one(ZeroPrimaries zero, OnePrimary one) {
        return new AfterSplitBrain(zero, one, TwoPrimaries.DISCONNECT);
    }

    private static Side secondary(long changed, boolean primaryAtSplit, int id) {
        return new Side(false, changed, primaryAtSplit, id, false);
    }

    private static Side primary(long changed, boolean primaryAtSplit, int id) {
        return new Side(true, changed, primaryAtSplit, id, false);
    }

    static List<Row> table() {
        return List.of(
                new Row("0pri disconnect", zero(ZeroPrimaries.DISCONNECT), secondary(0, true, 1),
                        secondary(5, false, 2), NONE),
                new Row("discard-younger-primary: the node promoted after the split loses",
                        zero(ZeroPrimaries.DISCARD_YOUNGER_PRIMARY), secondary(7, true, 1), secondary(3, false, 2), PEER),
                new Row("discard-younger-primary: both promoted after the split, no decision",
                        zero(ZeroPrimaries.DISCARD_YOUNGER_PRIMARY), secondary(7, false, 1), secondary(3, false, 2),
                        NONE),
                new Row("discard-younger-primary: both Primary at the split, no decision",
                        zero(ZeroPrimaries.DISCARD_YOUNGER_PRIMARY), secondary(7, true, 1), secondary(3, true, 2), NONE),
                new Row("discard-older-primary: the node Primary at the split loses",
                        zero(ZeroPrimaries.DISCARD_OLDER_PRIMARY), secondary(7, true, 1), secondary(30, false, 2), SELF),
                new Row("discard-older-primary: neither was, no decision",
                        zero(ZeroPrimaries.DISCARD_OLDER_PRIMARY), secondary(7, false, 1), secondary(3, false, 2), NONE),
                new Row("discard-zero-changes: we changed nothing", zero(ZeroPrimaries.DISCARD_ZERO_CHANGES),
                        secondary(0, false, 1), secondary(9, true, 2), SELF),
                new Row("discard-zero-changes: the peer changed nothing", zero(ZeroPrimaries.DISCARD_ZERO_CHANGES),
                        secondary(4, false, 1), secondary(0, true, 2), PEER),
                new Row("discard-zero-changes: both changed, no decision", zero(ZeroPrimaries.DISCARD_ZERO_CHANGES),
                        secondary(1, false, 1), secondary(900, true, 2), NONE),
                new Row("discard-zero-changes: neither changed, the lower id keeps its copy",
                        zero(ZeroPrimaries.DISCARD_ZERO_CHANGES), secondary(0, false, 3), secondary(0, true, 2), SELF),
                new Row("discard-least-changes: fewer changes lose", zero(ZeroPrimaries.DISCARD_LEAST_CHANGES),
                        secondary(4, false, 1), secondary(5, true, 2), SELF),
                new Row("discard-least-changes: equal counts, no decision", zero(ZeroPrimaries.DISCARD_LEAST_CHANGES),
                        secondary(5, false, 1), secondary(5, true, 2), NONE),
                new Row("0pri policy does not apply with a Primary", zero(ZeroPrimaries.DISCARD_ZERO_CHANGES),
                        primary(4, false, 1), secondary(0, true, 2), NONE),
                new Row("discard-secondary: the Secondary loses, even with more changes",
                        one(ZeroPrimaries.DISCONNECT, OnePrimary.DISCARD_SECONDARY), primary(1, false, 1),
                        secondary(500, true, 2), PEER),
                new Row("discard-secondary: we are the Secondary",
                        one(ZeroPrimaries.DISCONNECT, OnePrimary.DISCARD_SECONDARY), secondary(500, true, 1),
                        primary(1, false, 2), SELF),
                new Row("consensus: 0pri would discard the Secondary too",
                        one(ZeroPrimaries.DISCARD_ZERO_CHANGES, OnePrimary.CONSENSUS), primary(6, true, 1),
                        secondary(0, false, 2), PEER),
                new Row("consensus: 0pri would discard the Primary, no decision",
                        one(ZeroPrimaries.DISCARD_ZERO_CHANGES, OnePrimary.CONSENSUS), primary(0, true, 1),
                        secondary(6, false, 2), NONE),
                new Row("consensus: 0pri finds nothing, no decision",
                        one(ZeroPrimaries.DISCARD_LEAST_CHANGES, OnePrimary.CONSENSUS), primary(6, true, 1),
                        secondary(6, false, 2), NONE),
                new Row("consensus with discard-younger-primary: the younger is the Secondary",
                        one(ZeroPrimaries.DISCARD_YOUNGER_PRIMARY, OnePrimary.CONSENSUS), secondary(60, false, 1),
                        primary(6, true, 2), SELF),
                new Row("1pri disconnect", one(ZeroPrimaries.DISCARD_ZERO_CHANGES, OnePrimary.DISCONNECT),
                        primary(6, true, 1), secondary(0, false, 2), NONE),
                new Row("an interrupted resolution continues: the Inconsistent side stays the victim",
                        zero(ZeroPrimaries.DISCARD_LEAST_CHANGES), new Side(false, 900, false, 1, true),
                        secondary(5, true, 2), SELF),
                new Row("an Inconsistent Primary is never the victim: discard-secondary still names the Secondary"
                        + " (the handshake then refuses to keep an Inconsistent copy)",
                        one(ZeroPrimaries.DISCONNECT, OnePrimary.DISCARD_SECONDARY), new Side(true, 900, false, 1, true),
                        secondary(5, true, 2), PEER),
                new Row("with disconnect nothing continues automatically", zero(ZeroPrimaries.DISCONNECT),
                        new Side(false, 900, false, 1, true), secondary(5, true, 2), NONE),
                new Row("2pri disconnect", new AfterSplitBrain(ZeroPrimaries.DISCARD_ZERO_CHANGES,
                        OnePrimary.DISCARD_SECONDARY, TwoPrimaries.DISCONNECT), primary(0, true, 1),
                        primary(6, false, 2), NONE));
    }

    static Stream<Row> rows() {
        return table().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decidesAsTheTableSays(Row row) {
        assertEquals(row.expected(), SplitBrainRecovery.decide(row.policy(), row.self(), row.peer()).victim());
    }

    @ParameterizedTest(name = "{0}, seen from the peer")
    @MethodSource("rows")
    void thePeerNamesTheSameVictim(Row row) {
        assertEquals(row.expected().mirror(), SplitBrainRecovery.decide(row.policy(), row.peer(), row.self()).victim());
    }

    @Test
    void everyPolicyMirrorsAndNeverDiscardsWhatItMustNot() {
        Random random = new Random(17);
        for (int trial = 0; trial < 50_000; trial++) {
            ZeroPrimaries zero = ZeroPrimaries.values()[random.nextInt(ZeroPrimaries.values().length)];
            OnePrimary onePolicy = OnePrimary.values()[random.nextInt(OnePrimary.values().length)];
            if (onePolicy == OnePrimary.CONSENSUS && zero == ZeroPrimaries.DISCONNECT) {
                continue;
            }
            AfterSplitBrain policy = new AfterSplitBrain(zero, onePolicy, TwoPrimaries.DISCONNECT);
            Side a = new Side(random.nextBoolean(), random.nextInt(4), random.nextBoolean(), 1, random.nextInt(8) == 0);
            Side b = new Side(random.nextBoolean(), random.nextInt(4), random.nextBoolean(), 2, random.nextInt(8) == 0);
            Victim forward = SplitBrainRecovery.decide(policy, a, b).victim();
            assertEquals(forward.mirror(), SplitBrainRecovery.decide(policy, b, a).victim(), a + " vs " + b);
            if (forward == NONE) {
                continue;
            }
            Side victim = forward == SELF ? a : b;
            Side survivor = forward == SELF ? b : a;
            assertTrue(!(a.primary() && b.primary()), "never with two Primaries");
            if (victim.primary() || survivor.primary()) {
                assertTrue(!victim.primary(), "a Primary's changes are never discarded under 1pri: " + a + " " + b);
            }
            if (a.inconsistent() != b.inconsistent() && !(a.inconsistent() ? a : b).primary()) {
                assertTrue(victim.inconsistent(), "a half overwritten Secondary stays the victim");
                continue;
            }
            if (zero == ZeroPrimaries.DISCARD_ZERO_CHANGES && !a.primary() && !b.primary()) {
                assertEquals(0, victim.changedBlocks(), "discard-zero-changes discards only a side without changes");
            }
            if (zero == ZeroPrimaries.DISCARD_LEAST_CHANGES && !a.primary() && !b.primary()) {
                assertTrue(victim.changedBlocks() <= survivor.changedBlocks());
            }
        }
    }

    @Test
    void consensusWithoutAZeroPrimariesPolicyIsRefused() {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> new AfterSplitBrain(ZeroPrimaries.DISCONNECT, OnePrimary.CONSENSUS, TwoPrimaries.DISCONNECT));
        assertTrue(refused.getMessage().contains("after-sb-0pri"), refused.getMessage());
    }
}
