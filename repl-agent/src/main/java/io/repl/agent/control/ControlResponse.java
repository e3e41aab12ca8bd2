package io.repl.agent.control;

/**
 * The agent's answer: the exit code replctl should use, a message for stderr when refused,
 * and a result object for stdout.
 */
public record ControlResponse(int exit, String error, Object result) {
    public static final int OK = 0;
    public static final int USAGE = 2;

    public static ControlResponse ok(Object result) {
        return new ControlResponse(OK, null, result);
    }

    public static ControlResponse error(int exit, String message) {
        return new ControlResponse(exit, message, null);
    }
}
