package io.repl.agent;

/**
 * An operator command the current state does not allow. The message says why and what to do
 * instead; {@link #exitCode()} is what replctl exits with (11, or 17 for a promote with no
 * up-to-date data in reach).
 */
public final class StateChangeRefused extends Exception {
    private static final long serialVersionUID = 1L;
    public static final int REFUSED = 11;
    public static final int NO_UP_TO_DATE_DATA = 17;

    private final int exitCode;

    public StateChangeRefused(String message) {
        this(message, REFUSED);
    }

    public StateChangeRefused(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
