package io.repl.agent.ctl;

import io.repl.agent.AgentMain;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
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
@Command(name = "replctl", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT,
        version = "replctl 0.1.0",
        description = "Controls the repl agent on this node.")
public final class ReplCtl {
    public static final int EXIT_UNREACHABLE = 10;
    /** Every subcommand, in the order help lists them. */
    static final List<Class<?>> SUBCOMMANDS = List.of(
            Status.class, Up.class, Down.class, CreateMd.class, DumpMd.class, Primary.class, Secondary.class,
            Connect.class, Disconnect.class, Invalidate.class, InvalidateRemote.class, NewCurrentUuid.class,
            PauseSync.class, ResumeSync.class, Verify.class, Outdate.class, ResumeIo.class, WaitConnect.class,
            WaitSync.class, Detach.class, Attach.class, Resize.class, Adjust.class, Events.class, Freeze.class,
            Thaw.class);

    @Option(names = "--control-socket", description = "The agent's control socket (default: ${DEFAULT-VALUE}).",
            defaultValue = AgentMain.DEFAULT_CONTROL_SOCKET, scope = CommandLine.ScopeType.INHERIT)
    Path controlSocket;

    /**
     * Runs a command line: the common commands read by hand ({@link ClientArgs}), without
     * building picocli's model; everything else through picocli.
     */
    public static void main(String[] args) {
        ClientArgs simple = ClientArgs.parse(args);
        System.exit(simple != null ? simple.run() : commandLine(args).execute(args));
    }

    /**
     * The command line for {@code args}: with only the subcommand they name, or with all of them
     * when they name none or an unknown one (top-level help, a usage error that lists them).
     * Building a subcommand's model from its annotations is most of what a cold JVM spends
     * before it can send the request, so replctl builds only the one it runs.
     */
    static CommandLine commandLine(String[] args) {
        CommandLine cl = new CommandLine(new ReplCtl());
        String wanted = subcommandName(args);
        boolean known = SUBCOMMANDS.stream().anyMatch(c -> nameOf(c).equals(wanted));
        for (Class<?> c : SUBCOMMANDS) {
            if (!known || nameOf(c).equals(wanted)) {
                cl.addSubcommand(c);
            }
        }
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("replctl: " + ex.getMessage());
            return 1;
        });
        return cl;
    }

    private static String nameOf(Class<?> subcommand) {
        return subcommand.getAnnotation(Command.class).name();
    }

    /** The first word of {@code args} that is not a top-level option or its value, or null. */
    static String subcommandName(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--control-socket")) {
                i++;
            } else if (!a.startsWith("-")) {
                return a;
            }
        }
        return null;
    }

    /** Sends one command and prints the outcome; returns the exit code. */
    int run(CommandLine.Model.CommandSpec spec, String command, String resource, Map<String, Object> options,
            boolean printJson) throws IOException {
        return run(spec, command, resource, options, printJson, null);
    }

    /** As above; {@code before}, if given, prints something of its own ahead of the status. */
    int run(CommandLine.Model.CommandSpec spec, String command, String resource, Map<String, Object> options,
            boolean printJson, java.util.function.Consumer<JsonTree> before) throws IOException {
        return Requests.send(controlSocket, command, resource, options, printJson, before,
                spec.commandLine().getOut(), spec.commandLine().getErr());
    }

    @Command(name = "status", description = "Show roles, disk and connection states (like drbdadm status).")
    static final class Status implements Callable<Integer> {
        @ParentCommand
        ReplCtl parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Parameters(arity = "0..1", paramLabel = "RES", description = "A resource (default: all).")
        String resource;
        @Option(names = "--json", description = "Print {\"resources\":[...]} as JSON (with --watch: one line a "
                + "second).")
        boolean json;
        @Option(names = "--watch", description = "Redraw once a second, with a progress bar, the rate and the time "
                + "left of a running sync, until interrupted (Ctrl-C).")
        boolean watch;

        @Override
        public Integer call() throws IOException, InterruptedException {
            if (!watch) {
                return parent.run(spec, "status", resource, Map.of(), json);
            }
            return new StatusWatch(parent.controlSocket, resource, json, System.console() != null,
                    spec.commandLine().getOut(), spec.commandLine().getErr()).run();
        }
    }

    @Command(name = "up", description = "Attach the disk and start the export (re-reads RES.toml); RES may be 'all'.")
    static final class Up extends OnResource {
    }

    @Command(name = "down", description = "Stop the export, let writes in flight finish, say goodbye to the peer "
            + "(a Primary demotes, so the peer may be promoted without --force), flush and detach the disk; RES may "
            + "be 'all'.")
    static final class Down extends OnResource {
    }

    @Command(name = "create-md", description = "Write fresh metadata (generation identifiers, bitmap, activity log) "
            + "for a resource that is down.")
    static final class CreateMd extends OnResource {
        @Option(names = "--force", description = "Replace valid metadata (forgets what differs from the peer).")
        boolean force;

        @Override
        Map<String, Object> options() {
            return Map.of("force", force);
        }

        @Override
        boolean printJson() {
            return true;
        }
    }

    @Command(name = "dump-md", description = "Print a resource's metadata as JSON.")
    static final class DumpMd extends OnResource {
        @Override
        boolean printJson() {
            return true;
        }
    }

    /** A command on one resource that prints its status when done. */
    abstract static class OnResource implements Callable<Integer> {
        @ParentCommand
        ReplCtl parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Parameters(arity = "1", paramLabel = "RES", description = "The resource.")
        String resource;

        Map<String, Object> options() {
            return Map.of();
        }

        /** Whether the answer is printed as JSON rather than as status text. */
        boolean printJson() {
            return false;
        }

        @Override
        public Integer call() throws IOException {
            return parent.run(spec, spec.name(), resource, options(), printJson());
        }
    }

    @Command(name = "adjust", description = "Re-read RES.toml and apply to the running resource what is safe live "
            + "(handlers, resync rates and controller, csums, verify-alg, after-sb policies); refused (11), changing "
            + "nothing, when a change needs down and up, naming it. RES defaults to all.")
    static final class Adjust implements Callable<Integer> {
        @ParentCommand
        ReplCtl parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Parameters(arity = "0..1", paramLabel = "RES", description = "A resource (default: all).")
        String resource;

        @Override
        public Integer call() throws IOException {
            return parent.run(spec, "adjust", resource, Map.of(), false,
                    result -> Requests.printAdjusted(result, spec.commandLine().getOut()));
        }
    }

    @Command(name = "primary", description = "Promote: serve the export read-write. Refused (17) without "
            + "up-to-date data (also after losing the Primary without a goodbye: the peer may have written "
            + "alone), (11) while the peer is Primary.")
    static final class Primary extends OnResource {
        @Option(names = "--force", description = "Promote even without up-to-date data (starts a full sync of the "
                + "peer; writes the peer made alone since the loss are lost).")
        boolean force;

        @Override
        Map<String, Object> options() {
            return Map.of("force", force);
        }
    }

    @Command(name = "secondary", description = "Demote: the export becomes read-only. Refused while a client can write.")
    static final class Secondary extends OnResource {
        @Option(names = "--force", description = "Demote even while clients hold the export read-write (drops them).")
        boolean force;

        @Override
        Map<String, Object> options() {
            return Map.of("force", force);
        }
    }

    @Command(name = "connect", description = "Leave StandAlone and connect to the peer.")
    static final class Connect extends OnResource {
        @Option(names = "--discard-my-data", description = "After a split brain: this node's changes are thrown away.")
        boolean discard;

        @Override
        Map<String, Object> options() {
            return Map.of("discard-my-data", discard);
        }
    }

    @Command(name = "disconnect", description = "Close the peer connection and stay StandAlone.")
    static final class Disconnect extends OnResource {
    }

    @Command(name = "invalidate", description = "Throw this copy away and fetch everything from the peer.")
    static final class Invalidate extends OnResource {
    }

    @Command(name = "invalidate-remote", description = "This copy wins: resync the peer's disk in full from this"
            + " node. Needs a connected, in-sync pair, this disk UpToDate and the peer not Primary.")
    static final class InvalidateRemote extends OnResource {
    }

    @Command(name = "detach", description = "Drop this node's data disk while the resource runs (Diskless);"
            + " a Primary serves through its peer. The disk is resynced in full after attach.")
    static final class Detach extends OnResource {
    }

    @Command(name = "attach", description = "Give a Diskless node its disk back (the same one healed, or a"
            + " replacement with its metadata created); it is resynced in full from the peer.")
    static final class Attach extends OnResource {
    }

    @Command(name = "new-current-uuid", description = "With --clear-bitmap: declare two fresh, zeroed disks "
            + "identical and skip the initial sync.")
    static final class NewCurrentUuid extends OnResource {
        @Option(names = "--clear-bitmap", required = true, description = "Required: skip the initial sync.")
        boolean clearBitmap;

        @Override
        Map<String, Object> options() {
            return Map.of("clear-bitmap", clearBitmap);
        }
    }

    @Command(name = "resize", description = "After growing the backing devices on both nodes: both disks of the"
            + " connected pair take the size the smaller one offers (or --size), and the new area is synced from"
            + " the Primary. NBD clients see the new size when they connect again. A smaller size is refused"
            + " unless --force.")
    static final class Resize extends OnResource {
        @Option(names = "--size", description = "The new size (e.g. 96G, 300M); default: as large as both backing"
                + " devices allow.")
        String size;
        @Option(names = "--force", description = "Allow a smaller size: the data past it is lost; shrink the file"
                + " system on it first.")
        boolean force;
        @Option(names = "--assume-clean", description = "The new area holds the same bytes on both nodes (e.g."
                + " both backing files were just extended with zeroes): mark it in sync instead of syncing it.")
        boolean assumeClean;

        @Override
        Map<String, Object> options() {
            return Requests.resizeOptions(size, force, assumeClean);
        }

        @Override
        public Integer call() throws IOException {
            String bad = Requests.badSize(size);
            if (bad != null) {
                spec.commandLine().getErr().println(bad);
                return 2;
            }
            return super.call();
        }
    }

    @Command(name = "verify", description = "Online verify: compare this node's copy with the peer's, block by block "
            + "(digests of [net] verify-alg), while the pair runs. Blocks that differ are marked out of sync on both "
            + "nodes and reported (log, out-of-sync handler); disconnect and connect resyncs them. Refused (11) unless "
            + "Connected and Established with both disks UpToDate. Progress shows in status as VerifyS (here) and "
            + "VerifyT (on the peer).")
    static final class Verify extends OnResource {
        @Option(names = "--start", paramLabel = "OFFSET", defaultValue = "0", description = "Start at this byte "
                + "offset (a multiple of 4096, units K, M, G, T allowed: 64M), e.g. where a stopped verify left off "
                + "(the log names it). Default: ${DEFAULT-VALUE}.")
        String start;

        @Override
        public Integer call() throws IOException {
            String bad = Requests.badStart(start);
            if (bad != null) {
                spec.commandLine().getErr().println(bad);
                return 2;
            }
            return super.call();
        }

        @Override
        Map<String, Object> options() {
            return Map.of("start", start);
        }
    }

    @Command(name = "freeze", description = "On a Primary with the built-in mount: fsfreeze the file system (it "
            + "flushes and holds new writes), e.g. while the peer's disk is snapshotted; under protocol C the peer then "
            + "holds everything written. Refused (11) elsewhere; a frozen file system refuses secondary.")
    static final class Freeze extends OnResource {
    }

    @Command(name = "thaw", description = "Undo freeze: the file system takes writes again.")
    static final class Thaw extends OnResource {
    }

    @Command(name = "pause-sync", description = "Pause a running resync.")
    static final class PauseSync extends OnResource {
    }

    @Command(name = "resume-sync", description = "Resume a paused resync.")
    static final class ResumeSync extends OnResource {
    }

    @Command(name = "outdate", description = "Mark this disconnected Secondary's disk Outdated (persisted), as a "
            + "fence-peer handler on the other node asks: it is then promoted only with --force and becomes "
            + "UpToDate again only through a resync. Refused on a Primary.")
    static final class Outdate extends OnResource {
    }

    @Command(name = "resume-io", description = "A Primary holding writes (fencing, witness, no quorum) goes on "
            + "writing alone now. Only when the peer is known to be down or outdated: otherwise the peer may "
            + "be promoted too, and one side's writes are lost. With a witness, the witness records it first.")
    static final class ResumeIo extends OnResource {
        @Option(names = "--force", description = "With a witness that is not reachable: go on without it (it is "
                + "told once it is back; until then it could still promote the peer).")
        boolean force;

        @Override
        Map<String, Object> options() {
            return Map.of("force", force);
        }
    }

    /** Waits by polling status: the agent never blocks its control thread for a waiter. */
    abstract static class Wait implements Callable<Integer> {
        @ParentCommand
        ReplCtl parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Parameters(arity = "1", paramLabel = "RES", description = "The resource.")
        String resource;
        @Option(names = "--timeout", defaultValue = "0", description = "Give up after this many seconds "
                + "(exit 11); 0 waits forever.")
        long timeoutSeconds;

        abstract int await(Path socket, String resource, long timeoutSeconds, java.io.PrintWriter err)
                throws IOException, InterruptedException;

        @Override
        public Integer call() throws IOException, InterruptedException {
            return await(parent.controlSocket, resource, timeoutSeconds, spec.commandLine().getErr());
        }
    }

    @Command(name = "wait-connect", description = "Wait until the resource is connected to its peer.")
    static final class WaitConnect extends Wait {
        @Override
        int await(Path socket, String resource, long timeoutSeconds, java.io.PrintWriter err)
                throws IOException, InterruptedException {
            return Requests.awaitConnected(socket, resource, timeoutSeconds, err);
        }
    }

    @Command(name = "wait-sync", description = "Wait until the resource is connected and no resync is running.")
    static final class WaitSync extends Wait {
        @Override
        int await(Path socket, String resource, long timeoutSeconds, java.io.PrintWriter err)
                throws IOException, InterruptedException {
            return Requests.awaitSynced(socket, resource, timeoutSeconds, err);
        }
    }
}
