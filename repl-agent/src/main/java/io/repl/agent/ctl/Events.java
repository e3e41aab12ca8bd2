package io.repl.agent.ctl;

import io.repl.agent.config.Units;
import io.repl.agent.events.Event;
import io.repl.agent.events.EventReader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code replctl events}: the event journal, one event a line, in the manner of
 * {@code drbdsetup events2}. It reads the journal's files itself (a Chronicle tailer), so a
 * watcher costs the agent nothing, the history is there while the agent is down, and nothing a
 * slow terminal does can hold the agent back. Only the current state ({@code exists} lines)
 * comes from the agent, as {@code status} does.
 */
@Command(name = "events", description = "Print the current state as 'exists' lines, then follow the event journal "
        + "(state changes, role changes, handler runs and their output, sync progress) until interrupted: one "
        + "event a line, 'TIME VERB OBJECT name:RES key:value ...' (like drbdsetup events2).")
final class Events implements Callable<Integer> {
    /** How often the journal is looked at for new events while following. */
    private static final long POLL_MILLIS = 100;

    @ParentCommand
    ReplCtl parent;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;
    @Parameters(arity = "0..1", paramLabel = "RES", description = "Only this resource's events (default: all).")
    String resource;
    @Option(names = "--now", description = "Print the current state and exit.")
    boolean now;
    @Option(names = "--since", paramLabel = "TIME", description = "Replay the journal from TIME (an instant such as "
            + "2026-12-02T05:50:00Z, or a time ago such as 10m or 2h) instead of printing the current state, then "
            + "follow.")
    String since;
    @Option(names = "--json", description = "One JSON object a line.")
    boolean json;
    @Option(names = "--state-dir", defaultValue = "/var/lib/repl", description = "The agent's --state-dir, where its "
            + "journal is (default: ${DEFAULT-VALUE}).")
    Path stateDir;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Instant from = null;
        if (since != null) {
            from = parseSince(since);
            if (from == null) {
                err.println("replctl: events --since \"" + since + "\" is neither an instant (2026-12-02T05:50:00Z) nor "
                        + "a time ago (10m, 2h)");
                return 2;
            }
            if (now) {
                err.println("replctl: events: --now prints the current state and --since replays the journal; "
                        + "give one of them");
                return 2;
            }
        }
        Predicate<Event> mine = e -> resource == null || resource.equals(e.resource()) || "-".equals(e.resource());
        EventReader reader = null;
        if (!now) {
            try {
                reader = EventReader.open(stateDir);
            } catch (IllegalStateException e) {
                err.println("replctl: " + e.getMessage());
                return 2;
            }
        }
        try {
            if (from != null) {
                reader.fromStart();
                reader.read(from, mine, e -> print(out, e));
            } else {
                if (reader != null) {
                    // Before the state is asked for: nothing that happens meanwhile is missed.
                    reader.fromEnd();
                }
                int exit = printState(out, err);
                if (exit != 0 || now) {
                    return exit;
                }
            }
            out.flush();
            while (!out.checkError()) {
                if (reader.read(null, mine, e -> print(out, e)) == 0) {
                    Thread.sleep(POLL_MILLIS);
                } else {
                    out.flush();
                }
            }
            return 0;
        } finally {
            if (reader != null) {
                reader.close();
            }
        }
    }

    private void print(PrintWriter out, Event e) {
        out.println(json ? e.json() : e.text());
    }

    /** The current state of each resource as {@code exists} events, then {@code exists -}. */
    private int printState(PrintWriter out, PrintWriter err) throws Exception {
        JsonTree reply;
        try {
            reply = new ControlClient(parent.controlSocket).call("status", resource, Map.of());
        } catch (ControlClient.Unreachable e) {
            err.println("replctl: " + e.getMessage());
            return ReplCtl.EXIT_UNREACHABLE;
        }
        if (reply.path("exit").asInt(1) != 0) {
            err.println("replctl: events" + (resource == null ? "" : " " + resource) + " refused: "
                    + reply.path("error").asText("no reason given"));
            return reply.path("exit").asInt(1);
        }
        Instant t = Instant.now();
        for (JsonTree r : reply.path("result").path("resources")) {
            String name = r.path("name").asText();
            JsonTree peer = r.path("peer");
            Map<String, String> res = new LinkedHashMap<>();
            res.put("role", r.path("role").asText());
            res.put("suspended", r.path("suspended").isObject() ? r.path("suspended").path("reason").asText() : "no");
            print(out, new Event(t, "exists", "resource", name, res));
            print(out, new Event(t, "exists", "device", name, Map.of("disk", r.path("disk").asText())));
            if (peer.isObject()) {
                Map<String, String> c = new LinkedHashMap<>();
                c.put("peer", peer.path("name").asText("-"));
                c.put("connection", r.path("connection").asText());
                c.put("role", peer.path("role").asText());
                print(out, new Event(t, "exists", "connection", name, c));
                Map<String, String> pd = new LinkedHashMap<>();
                pd.put("peer", peer.path("name").asText("-"));
                pd.put("replication", r.path("replication").asText());
                pd.put("peer-disk", peer.path("disk").asText());
                pd.put("out-of-sync", r.path("outOfSyncBytes").asText());
                JsonTree sync = r.path("sync");
                if (sync.isObject()) {
                    pd.put("done", sync.path("percent").asText());
                    pd.put("left", sync.path("leftBytes").asText());
                    pd.put("rate", sync.path("bytesPerSecond").asText());
                }
                print(out, new Event(t, "exists", "peer-device", name, pd));
            }
        }
        out.println(json ? "{\"verb\":\"exists\",\"object\":\"-\"}"
                : t.truncatedTo(java.time.temporal.ChronoUnit.MILLIS) + " exists -");
        out.flush();
        return 0;
    }

    /** An instant, or a time ago ({@code 10m}); null if it is neither. */
    static Instant parseSince(String s) {
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            Duration ago = Units.parseDuration(s);
            return ago == null ? null : Instant.now().minus(ago);
        }
    }
}
