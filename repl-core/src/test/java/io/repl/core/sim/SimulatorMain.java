package io.repl.core.sim;

/**
 * Long simulator runs by hand, outside JUnit: {@code java -cp ... io.repl.core.sim.SimulatorMain
 * FIRST_SEED COUNT}. Stops at the first failing seed and prints it.
 */
public final class SimulatorMain {
    private SimulatorMain() {
    }

    public static void main(String[] args) {
        long first = args.length > 0 ? Long.parseLong(args[0]) : 1;
        long count = args.length > 1 ? Long.parseLong(args[1]) : 10_000;
        long start = System.nanoTime();
        for (long seed = first; seed < first + count; seed++) {
            try {
                new Simulation(seed).run();
            } catch (SimulationFailure failure) {
                System.out.println(failure.getMessage());
                System.exit(1);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("%d seeds from %d passed in %.1f s%n", count, first, seconds);
    }
}
