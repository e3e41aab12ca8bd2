package io.repl.agent.ctl;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;

/**
 * {@code replctl status --watch}: asks the agent for status once a second and redraws it, with
 * a progress bar under a running sync, until interrupted. On a terminal each frame replaces the
 * last; otherwise (a pipe, a log) frames follow each other under a time-stamped header. With
 * {@code --json} each frame is one line of JSON, for scripts.
 */
final class StatusWatch {
    static final long PERIOD_MILLIS = 1000;
    /** Cursor home and clear screen: the next frame replaces the last. */
    private static final String CLEAR = "\033[H\033[2J";
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");
    private final Path controlSocket;
    private final String resource;
    private final boolean json;
    private final boolean terminal;
    private final PrintWriter out;
    private final PrintWriter err;

    StatusWatch(Path controlSocket, String resource, boolean json, boolean terminal, PrintWriter out,
                PrintWriter err) {
        this.controlSocket = controlSocket;
        this.resource = resource;
        this.json = json;
        this.terminal = terminal;
        this.out = out;
        this.err = err;
    }

    /** Redraws until the thread is interrupted or the agent goes away (exit 10) or refuses (its code). */
    int run() throws IOException, InterruptedException {
        while (true) {
            long started = System.nanoTime();
            JsonTree reply;
            try {
                reply = new ControlClient(controlSocket).call("status", resource, Map.of());
            } catch (ControlClient.Unreachable e) {
                err.println("replctl: " + e.getMessage());
                err.flush();
                return ReplCtl.EXIT_UNREACHABLE;
            }
            int exit = reply.path("exit").asInt(1);
            if (exit != 0) {
                err.println("replctl: status" + (resource == null ? "" : " " + resource) + " refused: "
                        + reply.path("error").asText("no reason given"));
                err.flush();
                return exit;
            }
            out.print(frame(reply.path("result"), LocalTime.now()));
            out.flush();
            long spent = (System.nanoTime() - started) / 1_000_000;
            Thread.sleep(Math.max(0, PERIOD_MILLIS - spent));
        }
    }

    /** One redraw of {@code result} (the status command's result) at {@code now}. */
    String frame(JsonTree result, LocalTime now) throws IOException {
        if (json) {
            return ClientJson.print(result, false) + "\n";
        }
        java.io.StringWriter text = new java.io.StringWriter();
        try (PrintWriter w = new PrintWriter(text)) {
            w.println("Every 1s: replctl status" + (resource == null ? "" : " " + resource) + "    "
                    + CLOCK.format(now));
            w.println();
            StatusText.print(result, w, true);
        }
        return (terminal ? CLEAR : "\n") + text;
    }
}
