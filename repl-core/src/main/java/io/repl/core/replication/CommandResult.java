package io.repl.core.replication;

/**
 * The outcome of an operator command: done, or refused with the reason and the safe next step.
 *
 * @param exitCode 0 done, 2 a bad argument, 11 state change refused, 17 promote refused for lack of UpToDate data, -1 pending
 *     (the answer comes later through {@link CoreActions#commandCompleted})
 * @param reason why it was refused, empty when done
 * @param nextStep what the operator can safely do next, empty when done
 */
public record CommandResult(int exitCode, String reason, String nextStep) {
    public static final int DONE = 0;
    public static final int BAD_ARGUMENT = 2;
    public static final int REFUSED = 11;
    public static final int NO_UP_TO_DATE_DATA = 17;
    public static final int PENDING = -1;
    private static final CommandResult OK = new CommandResult(DONE, "", "");
    private static final CommandResult WAITING = new CommandResult(PENDING, "", "");

    public static CommandResult ok() {
        return OK;
    }

    public static CommandResult refused(String reason, String nextStep) {
        return new CommandResult(REFUSED, reason, nextStep);
    }

    /** An argument is out of range (an offset past the device); exit 2, as replctl's usage errors. */
    public static CommandResult badArgument(String reason, String nextStep) {
        return new CommandResult(BAD_ARGUMENT, reason, nextStep);
    }

    public static CommandResult noUpToDateData(String reason, String nextStep) {
        return new CommandResult(NO_UP_TO_DATE_DATA, reason, nextStep);
    }

    /** The command waits for someone else (the witness); its result follows later. */
    public static CommandResult pending() {
        return WAITING;
    }

    public boolean done() {
        return exitCode == DONE;
    }

    public boolean isPending() {
        return exitCode == PENDING;
    }
}
