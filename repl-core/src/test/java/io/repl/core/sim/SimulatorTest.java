package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Runs the seeded simulator: 10 000 seeds by default, every invariant checked after every
 * step, and then how many seeds exercised each class of fault, which must all be reached
 * (a fault the simulator stopped reaching proves nothing). {@code -Dsim.seeds=N} runs N seeds,
 * {@code -Dsim.firstSeed=N} moves the start, {@code -Dsim.seed=N} replays one seed.
 */
class SimulatorTest {
    private static final int SEEDS_DEFAULT = 10_000;
    /** Each class must be hit by at least this share of the seeds run. */
    private static final double SHARE_MIN = 0.002;

    @Test
    void seeds() {
        String single = System.getProperty("sim.seed");
        if (single != null) {
            new Simulation(Long.parseLong(single)).run();
            return;
        }
        long first = Long.getLong("sim.firstSeed", 1L);
        long count = Long.getLong("sim.seeds", SEEDS_DEFAULT);
        long start = System.nanoTime();
        Simulation.Stats total = new Simulation.Stats();
        Map<Fault, Long> seedsPerFault = new EnumMap<>(Fault.class);
        Map<String, Integer> policyDiscards = new java.util.TreeMap<>();
        for (Fault fault : Fault.values()) {
            seedsPerFault.put(fault, 0L);
        }
        for (long seed = first; seed < first + count; seed++) {
            Simulation simulation = new Simulation(seed);
            simulation.run();
            add(total, simulation.stats());
            simulation.exercised.forEach(f -> seedsPerFault.merge(f, 1L, Long::sum));
            simulation.policyDiscards.forEach((policy, n) -> policyDiscards.merge(policy, n, Integer::sum));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("simulator: %d seeds in %.1f s (%.0f seeds/min); writes acked %d, crashes %d, "
                        + "failovers %d, split brains %d, resyncs %d, promotions checked %d, events %d%n", count,
                seconds, count * 60 / seconds, total.writesAcked, total.crashes, total.failovers, total.splitBrains,
                total.resyncsFinished, total.promotionsChecked, total.events);
        System.out.println("simulator: seeds per fault class " + seedsPerFault);
        System.out.println("simulator: automatic split-brain discards per policy " + policyDiscards);
        long needed = Math.max(1, (long) Math.ceil(count * SHARE_MIN));
        for (Map.Entry<Fault, Long> e : seedsPerFault.entrySet()) {
            assertTrue(e.getValue() >= needed, e.getKey() + " was exercised by " + e.getValue() + " of " + count
                    + " seeds; at least " + needed + " must reach it: " + seedsPerFault);
        }
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
        assertEquals(first.exercised, second.exercised);
    }

    private static void add(Simulation.Stats total, Simulation.Stats one) {
        total.writesAcked += one.writesAcked;
        total.crashes += one.crashes;
        total.failovers += one.failovers;
        total.splitBrains += one.splitBrains;
        total.resyncsFinished += one.resyncsFinished;
        total.promotionsChecked += one.promotionsChecked;
        total.events += one.events;
    }
}
