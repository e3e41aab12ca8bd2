package io.repl.agent;

import io.repl.agent.config.ConfigException;
import io.repl.agent.events.EventJournal;
import io.repl.agent.witness.WitnessDaemon;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code repl-agent}: runs every resource of a config directory until SIGTERM; with
 * {@code --witness}, runs the witness of those resources instead (docs/FAILOVER.md, section 5).
 */
@Command(name = "repl-agent", mixinStandardHelpOptions = true, version = "repl-agent 0.1.0",
        description = "Serves and mirrors the resources configured in a directory (one NAME.toml each).")
public final class AgentMain implements Callable<Integer> {
    public static final String DEFAULT_CONTROL_SOCKET = "/run/repl/control.sock";

    @Spec
    CommandSpec spec;

    @Option(names = "--witness", description = "Run as the witness of the resources with a [witness] section, "
            + "on a third machine; takes no --node and no --control-socket.")
    boolean witness;

    @Option(names = "--config-dir", required = true, description = "Directory of resource files (*.toml).")
    Path configDir;

    @Option(names = "--node", description = "This node's name in the [node.NAME] sections (default: host name).")
    String node;

    @Option(names = "--control-socket", description = "Unix socket for replctl (default: ${DEFAULT-VALUE}).",
            defaultValue = DEFAULT_CONTROL_SOCKET)
    Path controlSocket;

    @Option(names = "--state-dir", description = "Directory for the agent's own state (default: ${DEFAULT-VALUE}).",
            defaultValue = "/var/lib/repl")
    Path stateDir;

    @Option(names = "--journal-roll", defaultValue = "daily", description = "How the event journal "
            + "(STATE_DIR/journal) rolls its files: hourly or daily (default: ${DEFAULT-VALUE}).")
    String journalRoll;

    @Option(names = "--journal-keep", defaultValue = "7", description = "How many of the journal's files "
            + "(hours or days) are kept; older ones are deleted (default: ${DEFAULT-VALUE}).")
    int journalKeep;
    @Option(names = "--metrics-listen", paramLabel = "HOST:PORT", description = "Serve Prometheus metrics "
            + "over HTTP at http://HOST:PORT/metrics, e.g. 127.0.0.1:9942 (default: no metrics).")
    String metricsListen;
    @Option(names = "--run-dir", description = "Directory for NAME.state, each resource's states as key=value "
            + "lines, which the OCF resource agent's monitor reads (default: ${DEFAULT-VALUE}).",
            defaultValue = "/run/repl")
    Path runDir;

    public static void main(String[] args) {
        LogFormat.install();
        CommandLine cl = new CommandLine(new AgentMain());
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws IOException {
        if (witness) {
            return witness();
        }
        String name = node != null ? node : hostName();
        System.Logger log = System.getLogger(AgentMain.class.getName());
        Files.createDirectories(stateDir);
        EventJournal.Settings journal;
        try {
            journal = new EventJournal.Settings(EventJournal.Roll.parse(journalRoll), journalKeep);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--journal-roll " + journalRoll
                    + " --journal-keep " + journalKeep + ": roll is hourly or daily, keep at least 1");
        }
        Agent agent = new Agent(configDir, name, controlSocket, stateDir, journal, runDir);
        if (metricsListen != null) {
            io.repl.agent.config.HostPort at = io.repl.agent.config.HostPort.parse(metricsListen);
            if (at == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--metrics-listen \"" + metricsListen
                        + "\" is not HOST:PORT (port 1-65535), e.g. 127.0.0.1:9942");
            }
            agent.metricsListen(at);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        SdNotify systemd = SdNotify.fromEnvironment();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.log(System.Logger.Level.INFO, "node " + name + ": stopping");
            systemd.stopping("stopping: taking every resource down");
            agent.close();
            stopped.countDown();
        }, "shutdown"));
        try {
            agent.start();
        } catch (ConfigException e) {
            log.log(System.Logger.Level.ERROR, e.getMessage());
            return 2;
        } catch (IOException e) {
            log.log(System.Logger.Level.ERROR, "node " + name + ": cannot start: " + e.getMessage());
            return 1;
        }
        log.log(System.Logger.Level.INFO, "node " + name + ": agent running, control socket " + controlSocket);
        // Ready once every resource was tried: a resource that could not come up (a bad file,
        // a missing disk) is reported down in status, and replctl can act on it from now on.
        systemd.ready(agent.summary());
        agent.onSummaryChange(systemd::status);
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    private int witness() {
        // The witness is no node of any resource and takes no operator commands: an option
        // that would mean something to an agent is a mistake worth stopping for.
        for (String option : new String[] {"--node", "--control-socket", "--run-dir"}) {
            if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
                throw new CommandLine.ParameterException(spec.commandLine(), option + " cannot be used with "
                        + "--witness: the witness is not a node of any resource and has no control socket");
            }
        }
        return WitnessDaemon.run(configDir, stateDir);
    }

    static String hostName() {
        try {
            String h = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
            if (!h.isEmpty()) {
                return h;
            }
        } catch (IOException e) {
            // Not Linux, or /proc is hidden: fall back to the environment.
        }
        String env = System.getenv("HOSTNAME");
        return env != null ? env : "localhost";
    }
}
