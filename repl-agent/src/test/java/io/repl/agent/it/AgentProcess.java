package io.repl.agent.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real agent process started through bin/repl-agent, as an operator would, with its own
 * config directory, control socket and log file under a test directory.
 */
final class AgentProcess implements AutoCloseable {
    static final Path ROOT = findRoot();

    final Path dir;
    final Path configDir;
    final Path controlSocket;
    final Path log;
    final String node;
    private final Map<String, String> env;
    /** A network namespace to run the agent in, or null for this one. */
    private final String netns;
    private Process process;

    AgentProcess(Path dir, String node) throws IOException {
        this(dir, node, Map.of());
    }

    AgentProcess(Path dir, String node, Map<String, String> env) throws IOException {
        this(dir, node, env, null);
    }

    AgentProcess(Path dir, String node, Map<String, String> env, String netns) throws IOException {
        this.dir = dir;
        this.node = node;
        this.env = env;
        this.netns = netns;
        this.configDir = Files.createDirectories(dir.resolve("conf-" + node));
        this.controlSocket = dir.resolve(node + ".ctl");
        this.log = dir.resolve(node + ".log");
    }

    private static Path findRoot() {
        Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("bin/repl-agent"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find bin/repl-agent above " + System.getProperty("user.dir"));
        }
        return p;
    }

    /** Writes {@code NAME.toml} into this agent's config directory. */
    Path writeConfig(String resource, String toml) throws IOException {
        return Files.writeString(configDir.resolve(resource + ".toml"), toml);
    }

    /** Starts the agent and waits until its control socket answers. */
    AgentProcess start() throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>();
        if (netns != null) {
            argv.addAll(List.of("ip", "netns", "exec", netns));
        }
        argv.addAll(List.of(ROOT.resolve("bin/repl-agent").toString(), "--config-dir",
                configDir.toString(), "--node", node, "--control-socket", controlSocket.toString(), "--state-dir",
                dir.resolve("state-" + node).toString()));
        ProcessBuilder pb = new ProcessBuilder(argv)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        process = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            if (!process.isAlive()) {
                throw new AssertionError("agent exited with " + process.exitValue() + " during start:\n" + log());
            }
            if (Files.exists(controlSocket) && ctl("status").exit() == 0) {
                return this;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("agent's control socket did not answer within 60 s:\n" + log());
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
    }

    /** Runs bin/replctl against this agent. */
    Cmd.Result ctl(String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>();
        argv.add(ROOT.resolve("bin/replctl").toString());
        argv.add("--control-socket");
        argv.add(controlSocket.toString());
        argv.addAll(List.of(args));
        return Cmd.run(Map.of(), 300, argv.toArray(String[]::new));
    }

    boolean alive() {
        return process != null && process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    String log() throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "(no log)";
    }

    /** SIGKILL: the agent gets no chance to flush or clean up. */
    void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** SIGTERM and wait: a clean stop. */
    int stop() throws InterruptedException {
        if (process == null) {
            return -1;
        }
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new AssertionError("agent did not stop within 60 s of SIGTERM");
        }
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }
}
