package io.repl.agent.ctl;

import io.repl.agent.AgentMain;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * replctl's command line read by hand, for the commands that send one request (and wait-*,
 * status --watch): a cold JVM that builds picocli's model of even one subcommand spends most
 * of its start on it. {@link #parse} takes only a command line it can read exactly as picocli
 * reads it, with exactly the options each command has there; anything else (help, version,
 * completion, events, an unknown command or option, a missing or malformed value, a repeated
 * option, {@code --}, an {@code @file}, an empty argument) it declines, and picocli then runs the command line as
 * ever, with its own usage message and exit 2 for the mistakes.
 */
final class ClientArgs {
    /**
     * Each command read here, with the options it has: boolean ones as they are, those that take
     * a value with a trailing {@code =}. Picocli's model ({@link ReplCtl}) has the same (a test
     * holds the two together).
     */
    static final Map<String, List<String>> COMMANDS = commands();
    /** The positional RES: required, or optional (status, adjust: default all). */
    static final Set<String> RESOURCE_OPTIONAL = Set.of("status", "adjust");
    /** Options that must be given. */
    static final Map<String, String> REQUIRED = Map.of("new-current-uuid", "--clear-bitmap");
    private static final String SOCKET = "--control-socket";
    /** The most digits of a {@code --timeout} read here: any such number is a long. */
    private static final int DIGITS_MAX = 18;

    final Path socket;
    final String command;
    final String resource;
    /** The options given, by name; a boolean one maps to "". */
    final Map<String, String> given;

    private ClientArgs(Path socket, String command, String resource, Map<String, String> given) {
        this.socket = socket;
        this.command = command;
        this.resource = resource;
        this.given = given;
    }

    private static Map<String, List<String>> commands() {
        Map<String, List<String>> c = new HashMap<>();
        for (String plain : List.of("up", "down", "dump-md", "disconnect", "invalidate", "invalidate-remote",
                "detach", "attach", "freeze", "thaw", "pause-sync", "resume-sync", "outdate", "adjust")) {
            c.put(plain, List.of());
        }
        c.put("status", List.of("--json", "--watch"));
        for (String forced : List.of("create-md", "primary", "secondary", "resume-io")) {
            c.put(forced, List.of("--force"));
        }
        c.put("connect", List.of("--discard-my-data"));
        c.put("new-current-uuid", List.of("--clear-bitmap"));
        c.put("resize", List.of("--size=", "--force", "--assume-clean"));
        c.put("verify", List.of("--start="));
        c.put("wait-connect", List.of("--timeout="));
        c.put("wait-sync", List.of("--timeout="));
        return Map.copyOf(c);
    }

    /** The command line {@code args} if it is one this class runs as picocli would; otherwise null. */
    static ClientArgs parse(String[] args) {
        String socket = null;
        String command = null;
        String resource = null;
        List<String> allowed = null;
        Map<String, String> given = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.isEmpty() || a.startsWith("@")) {
                return null;
            }
            if (!a.startsWith("-")) {
                if (command == null) {
                    command = a;
                    allowed = COMMANDS.get(a);
                    if (allowed == null) {
                        return null;
                    }
                } else if (resource == null) {
                    resource = a;
                } else {
                    return null;
                }
                continue;
            }
            int eq = a.indexOf('=');
            String name = eq < 0 ? a : a.substring(0, eq);
            boolean valued = name.equals(SOCKET) || allowed != null && allowed.contains(name + "=");
            if (!valued && (eq >= 0 || allowed == null || !allowed.contains(name))) {
                return null;
            }
            String value = "";
            if (valued) {
                if (eq >= 0) {
                    value = a.substring(eq + 1);
                } else if (i + 1 < args.length) {
                    value = args[++i];
                } else {
                    return null;
                }
                if (value.isEmpty() || value.startsWith("-") || value.startsWith("@")) {
                    return null;
                }
            }
            if (name.equals(SOCKET)) {
                if (socket != null) {
                    return null;
                }
                socket = value;
            } else if (given.put(name, value) != null) {
                return null;
            }
        }
        if (command == null || resource == null && !RESOURCE_OPTIONAL.contains(command)) {
            return null;
        }
        String required = REQUIRED.get(command);
        if (required != null && !given.containsKey(required)) {
            return null;
        }
        String timeout = given.get("--timeout");
        if (timeout != null && !(timeout.length() <= DIGITS_MAX && timeout.chars().allMatch(Character::isDigit))) {
            return null;
        }
        try {
            return new ClientArgs(Path.of(socket == null ? AgentMain.DEFAULT_CONTROL_SOCKET : socket), command,
                    resource, given);
        } catch (InvalidPathException e) {
            return null;
        }
    }

    private boolean flag(String name) {
        return given.containsKey(name);
    }

    /** Runs the command with picocli's standard output and error; returns the exit code. */
    int run() {
        PrintWriter out = writer(System.out, "sun.stdout.encoding");
        PrintWriter err = writer(System.err, "sun.stderr.encoding");
        try {
            return run(out, err);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** As picocli makes its writers: auto-flushing, in the terminal's encoding if the JVM was told one. */
    private static PrintWriter writer(PrintStream stream, String encodingProperty) {
        String encoding = System.getProperty(encodingProperty);
        Charset cs = encoding == null ? Charset.defaultCharset() : Charset.forName(encoding);
        return new PrintWriter(new OutputStreamWriter(stream, cs), true);
    }

    /** Runs the command; a failure is reported as picocli's handler in {@link ReplCtl} reports it (exit 1). */
    int run(PrintWriter out, PrintWriter err) {
        try {
            return execute(out, err);
        } catch (Exception ex) {
            err.println("replctl: " + ex.getMessage());
            return 1;
        }
    }

    private int execute(PrintWriter out, PrintWriter err) throws Exception {
        Map<String, Object> none = Map.of();
        switch (command) {
            case "status":
                if (flag("--watch")) {
                    return new StatusWatch(socket, resource, flag("--json"), System.console() != null, out, err).run();
                }
                return Requests.send(socket, command, resource, none, flag("--json"), null, out, err);
            case "adjust":
                return Requests.send(socket, command, resource, none, false, r -> Requests.printAdjusted(r, out),
                        out, err);
            case "dump-md":
                return Requests.send(socket, command, resource, none, true, null, out, err);
            case "create-md":
                return Requests.send(socket, command, resource, Map.of("force", flag("--force")), true, null, out,
                        err);
            case "primary":
            case "secondary":
            case "resume-io":
                return Requests.send(socket, command, resource, Map.of("force", flag("--force")), false, null, out,
                        err);
            case "connect":
                return Requests.send(socket, command, resource, Map.of("discard-my-data", flag("--discard-my-data")),
                        false, null, out, err);
            case "new-current-uuid":
                return Requests.send(socket, command, resource, Map.of("clear-bitmap", true), false, null, out, err);
            case "resize": {
                String size = given.get("--size");
                String bad = Requests.badSize(size);
                if (bad != null) {
                    err.println(bad);
                    return 2;
                }
                return Requests.send(socket, command, resource,
                        Requests.resizeOptions(size, flag("--force"), flag("--assume-clean")), false, null, out, err);
            }
            case "verify": {
                String start = given.getOrDefault("--start", "0");
                String bad = Requests.badStart(start);
                if (bad != null) {
                    err.println(bad);
                    return 2;
                }
                return Requests.send(socket, command, resource, Map.of("start", start), false, null, out, err);
            }
            case "wait-connect":
                return Requests.awaitConnected(socket, resource, timeout(), err);
            case "wait-sync":
                return Requests.awaitSynced(socket, resource, timeout(), err);
            default:
                return Requests.send(socket, command, resource, none, false, null, out, err);
        }
    }

    private long timeout() {
        return Long.parseLong(given.getOrDefault("--timeout", "0"));
    }
}
