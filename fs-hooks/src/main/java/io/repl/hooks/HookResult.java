package io.repl.hooks;

/**
 * How a handler ended.
 *
 * @param exitCode the process's exit status; -1 if it never started or was killed
 * @param timedOut whether it ran past its deadline and was killed (with its children)
 * @param output the last lines it printed (stdout and stderr together), bounded in size
 * @param error why it could not be started, or null
 */
public record HookResult(String name, int exitCode, boolean timedOut, String output, String error) {
    public boolean succeeded() {
        return exitCode == 0 && !timedOut && error == null;
    }

    /** One line for the log and the event journal. */
    public String summary() {
        if (error != null) {
            return "handler " + name + " could not start: " + error;
        }
        if (timedOut) {
            return "handler " + name + " timed out and was killed";
        }
        return "handler " + name + " exited with " + exitCode;
    }

    /** Lines of output a refusal or a log line quotes. */
    static final int TAIL_LINES = 3;
    static final int TAIL_CHARS = 300;

    /** The last few lines of {@code output} on one line, for a message. */
    public static String tail(String output) {
        if (output == null || output.isBlank()) {
            return "";
        }
        String[] lines = output.strip().split("\n");
        String joined = String.join("; ", java.util.Arrays.copyOfRange(lines,
                Math.max(0, lines.length - TAIL_LINES), lines.length));
        return joined.length() <= TAIL_CHARS ? joined : "..." + joined.substring(joined.length() - TAIL_CHARS);
    }
}
