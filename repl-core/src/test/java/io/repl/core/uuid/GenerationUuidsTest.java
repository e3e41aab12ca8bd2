package io.repl.core.uuid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class GenerationUuidsTest {

    /** Returns the given values in turn, so tests know which identifier comes next. */
    static RandomGenerator sequence(long... values) {
        int[] next = {0};
        return () -> values[next[0]++];
    }

    @Test
    void newCurrentMakesTheOldCurrentTheBitmapBase() {
        GenerationUuids before = GenerationUuids.of(0xA, 0);
        GenerationUuids after = before.newCurrent(sequence(0xB));
        assertEquals(GenerationUuids.of(0xB, 0xA), after);
    }

    @Test
    void aSecondNewCurrentKeepsTheOlderBaseAndRemembersTheMiddleGeneration() {
        GenerationUuids after = GenerationUuids.of(0xB, 0xA).newCurrent(sequence(0xC));
        assertEquals(GenerationUuids.of(0xC, 0xA, 0xB), after);
    }

    @Test
    void resyncEndRotatesTheBitmapIntoHistoryAndTheTargetTakesTheSourceSet() {
        GenerationUuids source = GenerationUuids.of(0xC, 0xB, 1, 2, 3, 4).afterResyncAsSource();
        assertEquals(GenerationUuids.of(0xC, 0, 0xB, 1, 2, 3), source);
        assertEquals(source, GenerationUuids.afterResyncAsTarget(source));
        assertThrows(IllegalArgumentException.class,
                () -> GenerationUuids.afterResyncAsTarget(GenerationUuids.of(1, 2)));
    }

    @Test
    void clearBitmapStartsAGenerationWithNothingToResync() {
        GenerationUuids after = GenerationUuids.EMPTY.newCurrentClearBitmap(sequence(0x77));
        assertEquals(GenerationUuids.of(0x77, 0), after);
        assertEquals(GenerationUuids.of(0x78, 0, 0x77, 5),
                GenerationUuids.of(0x77, 0x66, 5).newCurrentClearBitmap(sequence(0x78)));
    }

    @Test
    void zeroAndKnownIdentifiersAreNeverDrawn() {
        GenerationUuids uuids = GenerationUuids.of(5, 6, 7);
        assertEquals(GenerationUuids.of(9, 6, 5, 7),
                uuids.newCurrent(sequence(0, 5, 6, 7, 9)));
        RandomGenerator broken = () -> 0;
        assertThrows(IllegalStateException.class, () -> uuids.newCurrent(broken));
    }

    @Test
    void valueSemantics() {
        assertEquals(GenerationUuids.of(1, 2, 3), GenerationUuids.of(1, 2, 3, 0));
        assertEquals(GenerationUuids.of(1, 2, 3).hashCode(),
                GenerationUuids.of(1, 2, 3, 0).hashCode());
        assertNotEquals(GenerationUuids.of(1, 2, 3), GenerationUuids.of(1, 2, 4));
        assertTrue(GenerationUuids.of(1, 2, 3).toString().startsWith("0000000000000001:"));
        assertThrows(IllegalArgumentException.class,
                () -> GenerationUuids.of(1, 2, 3, 4, 5, 6, 7));
        assertThrows(IllegalArgumentException.class, () -> GenerationUuids.EMPTY.history(4));
        long[] copy = GenerationUuids.of(1, 2, 3).historyCopy();
        copy[0] = 99;
        assertEquals(3, GenerationUuids.of(1, 2, 3).history(0));
    }
}
