package io.repl.core.sim;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every seed that ever broke an invariant, replayed on every build: each found a real fault
 * (in the core or in the simulator's model) that was then fixed. A seed drawn afresh by a
 * changed simulator may no longer reach the same state, but it stays a cheap, deterministic
 * scenario of its own.
 */
class RegressionSeedsTest {
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {3, 4, 10, 12, 32, 40, 55, 65, 80, 145, 152, 168, 172, 376, 628, 644, 658, 1432, 1557, 1618,
        1979, 2023, 3297, 3718, 4110, 4215, 5466, 7150, 8338, 8409, 8573, 9784, 11722, 15485, 24140, 29901, 34480,
        37560, 40192, 2, 593, 2347, 3653, 4805, 346, 2677, 2880, 3617, 1264, 3941, 1743, 2722,
        904, 9336, 9420, 8947, 18137, 25574, 28504, 44555, 44831, 46951, 46512, 47264, 47912, 56360, 106707, 111800, 192394, 231272, 258331, 361635, 381458, 396700, 407141, 567387, 679574, 729906, 759715, 828739, 864175, 955834})
    void replays(long seed) {
        new Simulation(seed).run();
    }
}
