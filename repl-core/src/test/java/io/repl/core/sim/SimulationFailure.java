package io.repl.core.sim;

/** An invariant broke; the message names the seed and step so the run can be replayed. */
final class SimulationFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    SimulationFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
