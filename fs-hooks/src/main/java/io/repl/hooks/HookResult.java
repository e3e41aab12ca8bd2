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
}
