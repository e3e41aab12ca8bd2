package io.repl.hooks;

import java.util.Map;

/**
 * Told of every handler a {@link HookRunner} starts and how it ended, for the event journal.
 * Called on the handler's own thread; an observer must not block.
 */
public interface HookObserver {
    HookObserver NONE = new HookObserver() {
    };

    /** {@code name} ({@code RESOURCE/HANDLER}) starts {@code command} with {@code env}. */
    default void started(String name, String command, Map<String, String> env) {
    }

    /** {@code result.name()} ended (or could not start, or was killed at its deadline). */
    default void finished(HookResult result) {
    }

    /** An event had no handler configured: nothing runs, but the event happened. */
    default void unhandled(String name, Map<String, String> env) {
    }
}
