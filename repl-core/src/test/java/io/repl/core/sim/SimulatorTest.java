package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Runs the seeded simulator. By default as many seeds as fit in about 60 s (at most 10 000);
 * {@code -Dsim.seeds=N} runs exactly N seeds, {@code -Dsim.seed=N} replays one seed,
 * {@code -Dsim.firstSeed=N} moves the start.
 */
class SimulatorTest {
    private static final long BUDGET_NANOS = Long.getLong("sim.budgetMillis", 60_000L) * 1_000_000L;
    private static final int SEEDS_MAX_DEFAULT = 10_000;

    @Test
    void seeds() {
        String single = System.getProperty("sim.seed");
        if (single != null) {
            new Simulation(Long.parseLong(single)).run();
            return;
        }
        long first = Long.getLong("sim.firstSeed", 1L);
        long explicit = Long.getLong("sim.seeds", -1L);
        long seedsMax = explicit > 0 ? explicit : SEEDS_MAX_DEFAULT;
        long start = System.nanoTime();
        long ran = 0;
        Simulation.Stats total = new Simulation.Stats();
        for (long seed = first; seed < first + seedsMax; seed++) {
            if (explicit <= 0 && System.nanoTime() - start > BUDGET_NANOS) {
                break;
            }
            Simulation simulation = new Simulation(seed);
            simulation.run();
            add(total, simulation.stats());
            ran++;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("simulator: %d seeds in %.1f s (%.0f seeds/min); writes acked %d, crashes %d, "
                        + "failovers %d, split brains %d, resyncs %d, events %d%n", ran, seconds, ran * 60 / seconds,
                total.writesAcked, total.crashes, total.failovers, total.splitBrains, total.resyncsFinished,
                total.events);
    }

    @Test
    void aSeedReplaysBitForBit() {
        Simulation first = new Simulation(424242);
        first.run();
        Simulation second = new Simulation(424242);
        second.run();
        assertEquals(first.stats().events, second.stats().events);
        assertEquals(first.stats().writesAcked, second.stats().writesAcked);
        assertEquals(first.now(), second.now());
    }

    private static void add(Simulation.Stats total, Simulation.Stats one) {
        total.writesAcked += one.writesAcked;
        total.crashes += one.crashes;
        total.failovers += one.failovers;
        total.splitBrains += one.splitBrains;
        total.resyncsFinished += one.resyncsFinished;
        total.events += one.events;
    }
}
