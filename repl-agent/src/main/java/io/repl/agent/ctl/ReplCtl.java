package io.repl.agent.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.repl.agent.AgentMain;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code replctl}: tells the agent what to do. Exit codes: 0 done, 2 usage, 10 agent not
 * reachable, 11 state change refused, 17 promote refused for want of up-to-date data.
 */
@Command(name = "replctl", mixinStandardHelpOptions = true, version = "replctl 0.1.0",
        description = "Controls the repl agent on this node.",
        subcommands = {ReplCtl.Status.class, ReplCtl.Up.class, ReplCtl.Down.class, ReplCtl.CreateMd.class,
            ReplCtl.DumpMd.class})
public final class ReplCtl {
    public static final int EXIT_UNREACHABLE = 10;

    @Option(names = "--control-socket", description = "The agent's control socket (default: ${DEFAULT-VALUE}).",
            defaultValue = AgentMain.DEFAULT_CONTROL_SOCKET, scope = CommandLine.ScopeType.INHERIT)
    Path controlSocket;

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new ReplCtl());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("replctl: " + ex.getMessage());
            return 1;
        });
        System.exit(cl.execute(args));
    }

    /** Sends one command and prints the outcome; returns the exit code. */
    int run(CommandLine.Model.CommandSpec spec, String command, String resource, Map<String, Object> options,
            boolean printJson) throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        JsonNode r;
        try {
            r = new ControlClient(controlSocket).call(command, resource, options);
        } catch (ControlClient.Unreachable e) {
            err.println("replctl: " + e.getMessage());
            return EXIT_UNREACHABLE;
        }
        int exit = r.path("exit").asInt(1);
        if (exit != 0) {
            err.println("replctl: " + command + (resource == null ? "" : " " + resource) + " refused: "
                    + r.path("error").asText("no reason given"));
            return exit;
        }
        JsonNode result = r.path("result");
        if (printJson) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(result));
        } else {
            StatusText.print(result, out);
        }
        out.flush();
        return 0;
    }

    @Command(name = "status", description = "Show roles, disk and connection states (like drbdadm status).")
    static final class Status implements Callable<Integer> {
        @ParentCommand
        ReplCtl parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Parameters(arity = "0..1", paramLabel = "RES", description = "A resource (default: all).")
        String resource;
        @Option(names = "--json", description = "Print {\"resources\":[...]} as JSON.")
        boolean json;

        @Override
        public Integer call() throws IOException {
            return parent.run(spec, "status", resource, Map.of(), json);
        }
    }

    @Command(name = "up", description = "Attach the disk and start the export (re-reads RES.toml).")
    static final class Up implements Callable<Integer> {
        @ParentCommand
        ReplCtl parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Parameters(arity = "1", paramLabel = "RES", description = "A resource, or 'all'.")
        String resource;

        @Override
        public Integer call() throws IOException {
            return parent.run(spec, "up", resource, Map.of(), false);
        }
    }

    @Command(name = "down", description = "Stop the export, flush and detach the disk.")
    static final class Down implements Callable<Integer> {
        @ParentCommand
        ReplCtl parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Parameters(arity = "1", paramLabel = "RES", description = "A resource, or 'all'.")
        String resource;

        @Override
        public Integer call() throws IOException {
            return parent.run(spec, "down", resource, Map.of(), false);
        }
    }

    @Command(name = "create-md", description = "Write fresh metadata (generation identifiers, bitmap, activity log) "
            + "for a resource that is down.")
    static final class CreateMd implements Callable<Integer> {
        @ParentCommand
        ReplCtl parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Parameters(arity = "1", paramLabel = "RES", description = "The resource.")
        String resource;
        @Option(names = "--force", description = "Replace valid metadata (forgets what differs from the peer).")
        boolean force;

        @Override
        public Integer call() throws IOException {
            return parent.run(spec, "create-md", resource, Map.of("force", force), true);
        }
    }

    @Command(name = "dump-md", description = "Print a resource's metadata as JSON.")
    static final class DumpMd implements Callable<Integer> {
        @ParentCommand
        ReplCtl parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Parameters(arity = "1", paramLabel = "RES", description = "The resource.")
        String resource;

        @Override
        public Integer call() throws IOException {
            return parent.run(spec, "dump-md", resource, Map.of(), true);
        }
    }
}
