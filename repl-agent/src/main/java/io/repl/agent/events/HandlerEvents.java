package io.repl.agent.events;

import io.repl.hooks.HookObserver;
import io.repl.hooks.HookResult;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Journals every handler: {@code call helper} when it starts (with its command and the
 * {@code REPL_*} variables it gets, which say what the event was: the split-brain rule and
 * policy, the fence-peer run, the verify's findings), {@code response helper} when it ends
 * (exit code, or why it never answered, and the last lines it printed), and a
 * {@code call helper ... handler:none} for an event with no handler configured.
 */
public final class HandlerEvents implements HookObserver {
    /** Lines of output kept in a response: the journal is for reading, the log has them all. */
    private static final int OUTPUT_CHARS_MAX = 2000;

    private final EventSink sink;
    private final Clock clock;

    public HandlerEvents(EventSink sink, Clock clock) {
        this.sink = sink;
        this.clock = clock;
    }

    @Override
    public void started(String name, String command, Map<String, String> env) {
        Map<String, String> f = base(name);
        f.put("command", command);
        addEnv(f, env);
        publish("call", name, f);
    }

    @Override
    public void unhandled(String name, Map<String, String> env) {
        Map<String, String> f = base(name);
        f.put("handler", "none");
        addEnv(f, env);
        publish("call", name, f);
    }

    @Override
    public void finished(HookResult r) {
        Map<String, String> f = base(r.name());
        f.put("status", r.error() != null ? "not-started" : r.timedOut() ? "timed-out" : Integer.toString(r.exitCode()));
        if (r.error() != null) {
            f.put("error", r.error());
        }
        String out = r.output() == null ? "" : r.output().strip();
        if (out.length() > OUTPUT_CHARS_MAX) {
            out = "..." + out.substring(out.length() - OUTPUT_CHARS_MAX);
        }
        if (!out.isEmpty()) {
            f.put("output", out);
        }
        publish("response", r.name(), f);
    }

    private static Map<String, String> base(String name) {
        Map<String, String> f = new LinkedHashMap<>();
        int slash = name.indexOf('/');
        f.put("helper", slash < 0 ? name : name.substring(slash + 1));
        return f;
    }

    /** The event's own variables, lower-cased without the prefix ({@code REPL_RULE} is {@code rule}). */
    private static void addEnv(Map<String, String> f, Map<String, String> env) {
        new java.util.TreeMap<>(env).forEach((k, v) -> {
            if (k.startsWith("REPL_") && !k.equals("REPL_RESOURCE")) {
                f.put(k.substring(5).toLowerCase(java.util.Locale.ROOT).replace('_', '-'), v);
            }
        });
    }

    private void publish(String verb, String name, Map<String, String> f) {
        int slash = name.indexOf('/');
        sink.publish(new Event(clock.instant(), verb, "helper", slash < 0 ? "-" : name.substring(0, slash), f));
    }
}
