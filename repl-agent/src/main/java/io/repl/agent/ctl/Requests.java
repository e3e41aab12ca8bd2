package io.repl.agent.ctl;

import io.repl.agent.config.Units;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * What replctl's commands do once their arguments are read, shared by the picocli command line
 * and the hand-written one ({@link ClientArgs}) so both behave alike: the request, the exit
 * code, and what goes to standard output and standard error.
 */
final class Requests {
    private Requests() {}

    /**
     * Sends one command and prints the outcome (status text, or the result as JSON); returns the
     * exit code. {@code before}, if given, prints something of its own ahead of the status.
     */
    static int send(Path socket, String command, String resource, Map<String, Object> options, boolean printJson,
                    Consumer<JsonTree> before, PrintWriter out, PrintWriter err) throws IOException {
        JsonTree r;
        try {
            r = new ControlClient(socket).call(command, resource, options);
        } catch (ControlClient.Unreachable e) {
            err.println("replctl: " + e.getMessage());
            return ReplCtl.EXIT_UNREACHABLE;
        }
        int exit = r.path("exit").asInt(1);
        if (exit != 0) {
            err.println("replctl: " + command + (resource == null ? "" : " " + resource) + " refused: "
                    + r.path("error").asText("no reason given"));
            return exit;
        }
        JsonTree result = r.path("result");
        if (before != null) {
            before.accept(result);
        }
        if (printJson) {
            out.println(ClientJson.print(result, true));
        } else {
            StatusText.print(result, out);
        }
        out.flush();
        return 0;
    }

    /** adjust's lines ahead of the status: what it applied to each resource. */
    static void printAdjusted(JsonTree result, PrintWriter out) {
        for (JsonTree r : result.path("resources")) {
            JsonTree applied = r.path("adjusted");
            String what;
            if (applied.isEmpty()) {
                what = "nothing to change";
            } else {
                java.util.List<String> s = new java.util.ArrayList<>();
                applied.forEach(n -> s.add(n.asText()));
                what = "applied " + String.join("; ", s);
            }
            out.println(r.path("name").asText() + ": " + what
                    + (r.hasNonNull("note") ? " (" + r.path("note").asText() + ")" : ""));
        }
    }

    /** resize's options; its {@code --size} already checked by {@link #badSize}. */
    static Map<String, Object> resizeOptions(String size, boolean force, boolean assumeClean) {
        long bytes = size == null ? 0 : Units.parseSize(size);
        return Map.of("size", bytes, "force", force, "assume-clean", assumeClean);
    }

    /** What is wrong with resize's {@code --size}, or null if nothing. */
    static String badSize(String size) {
        return size != null && Units.parseSize(size) <= 0 ? "replctl: resize --size " + size + ": not a size; write it"
                + " like 300M, 96G or 1T (a multiple of 4K)" : null;
    }

    /** What is wrong with verify's {@code --start}, or null if nothing. */
    static String badStart(String start) {
        return Units.parseSize(start) < 0 ? "replctl: verify --start \"" + start
                + "\" is not an offset such as 0, 4096 or 64M" : null;
    }

    /** wait-connect: until the resource is connected to its peer. */
    static int awaitConnected(Path socket, String resource, long timeoutSeconds, PrintWriter err)
            throws IOException, InterruptedException {
        return await(socket, resource, timeoutSeconds, Requests::connected, "Connected", err);
    }

    /** wait-sync: until the resource is connected and no resync runs. */
    static int awaitSynced(Path socket, String resource, long timeoutSeconds, PrintWriter err)
            throws IOException, InterruptedException {
        return await(socket, resource, timeoutSeconds, r -> {
            String replication = r.path("replication").asText();
            return connected(r) && ("Established".equals(replication) || "VerifyS".equals(replication)
                    || "VerifyT".equals(replication));
        }, "Connected/Established", err);
    }

    private static boolean connected(JsonTree r) {
        return "Connected".equals(r.path("connection").asText());
    }

    /**
     * Waits by polling status (the agent never blocks its control thread for a waiter) until
     * {@code reached} holds for the resource: 0; 11 after {@code timeoutSeconds} (0: forever).
     */
    private static int await(Path socket, String resource, long timeoutSeconds, Predicate<JsonTree> reached, String what,
                     PrintWriter err) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (true) {
            JsonTree reply;
            try {
                reply = new ControlClient(socket).call("status", resource, Map.of());
            } catch (ControlClient.Unreachable e) {
                err.println("replctl: " + e.getMessage());
                return ReplCtl.EXIT_UNREACHABLE;
            }
            if (reply.path("exit").asInt(1) != 0) {
                err.println("replctl: " + reply.path("error").asText());
                return reply.path("exit").asInt(1);
            }
            JsonTree r = reply.path("result").path("resources").path(0);
            if (reached.test(r)) {
                return 0;
            }
            if (timeoutSeconds > 0 && System.nanoTime() - deadline > 0) {
                err.println("replctl: " + resource + " did not reach " + what + " within "
                        + timeoutSeconds + " s (now " + r.path("connection").asText() + "/"
                        + r.path("replication").asText() + ")");
                return 11;
            }
            Thread.sleep(200);
        }
    }
}
