package io.repl.agent.control;

/** What executes control commands; the agent. */
@FunctionalInterface
public interface ControlHandler {
    /** Runs one command to completion; called on the agent's control thread only. */
    ControlResponse handle(ControlRequest request);
}
