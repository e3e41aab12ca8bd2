package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Online verify of resource r0 as an operator sees it: {@code replctl verify}, the
 * {@code out-of-sync} and {@code after-verify} handlers (scripts that leave their environment in
 * files, read back here) and the agents' logs.
 */
final class OnlineVerify {
    private final Path dir;
    private final AgentProcess[] nodes;

    private OnlineVerify(Path dir, AgentProcess[] nodes) {
        this.dir = dir;
        this.nodes = nodes;
    }

    /** One verify run that reached the end: its {@code after-verify} environment, and the runs a lost connection stopped first. */
    record Outcome(Map<String, String> env, List<String> stops) {
        String blocks() {
            return env.get("REPL_OOS_BLOCKS");
        }
    }

    /**
     * Adds {@code [net] verify-alg = algorithm} and the two handlers to r0's config on each of
     * {@code nodes} (written before the agents start, or before a restart).
     */
    static OnlineVerify configure(Path dir, String algorithm, AgentProcess... nodes) throws Exception {
        OnlineVerify verify = new OnlineVerify(dir, nodes);
        for (AgentProcess a : nodes) {
            StringBuilder handlers = new StringBuilder("[handlers]\n");
            for (String hook : new String[] {"out-of-sync", "after-verify"}) {
                Path env = verify.env(a, hook);
                Path script = Files.writeString(dir.resolve(a.node + "-" + hook + ".sh"), String.join("\n",
                        "#!/bin/sh",
                        "env | grep '^REPL_' | sort > " + env + ".tmp && mv " + env + ".tmp " + env, ""));
                assertTrue(script.toFile().setExecutable(true));
                handlers.append(hook).append(" = \"").append(script).append("\"\n");
            }
            Path file = a.configDir.resolve("r0.toml");
            String toml = Files.readString(file);
            assertTrue(toml.contains("[net]\n"), toml);
            a.writeConfig("r0", toml.replace("[net]\n", "[net]\nverify-alg = \"" + algorithm + "\"\n") + handlers);
        }
        return verify;
    }

    /** The file {@code a}'s handler {@code hook} ("out-of-sync" or "after-verify") leaves its environment in. */
    Path env(AgentProcess a, String hook) {
        return dir.resolve(a.node + "-" + hook + ".env");
    }

    static Map<String, String> readEnv(Path file) throws Exception {
        Map<String, String> env = new TreeMap<>();
        for (String line : Files.readAllLines(file)) {
            int eq = line.indexOf('=');
            env.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return env;
    }

    static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    /** Waits for a handler's file; on a timeout the failure carries the agents' logs. */
    void awaitFile(Path file) throws Exception {
        awaitOrExplain(() -> Files.exists(file), file.getFileName() + " (the verify to finish)");
    }

    private void awaitOrExplain(NbdClientsIT.Check check, String what) throws Exception {
        try {
            NbdClientsIT.waitFor(check, what, 600);
        } catch (AssertionError e) {
            StringBuilder logs = new StringBuilder(e.getMessage());
            for (AgentProcess a : nodes) {
                logs.append("\n--- ").append(a.node).append(" ---\n").append(a.log());
            }
            throw new AssertionError(logs.toString(), e);
        }
    }

    /** What the caller waits for after a stopped verify, before running it again. */
    interface Step {
        void run() throws Exception;
    }

    /**
     * Runs {@code replctl verify r0} on {@code on} until one run reaches the end, and returns what
     * its {@code after-verify} handler was given. A verify that loses its connection stops (on a
     * machine loaded enough to miss a ping timeout); the reconnect then resyncs what it had
     * marked, so after {@code resynced} returns the verify runs again from the start. The stopped
     * runs' log lines are returned with the outcome, for the caller to judge.
     */
    Outcome runToEnd(AgentProcess on, Step resynced) throws Exception {
        Path done = env(on, "after-verify");
        Files.deleteIfExists(done);
        Files.deleteIfExists(env(on, "out-of-sync"));
        List<String> stops = new ArrayList<>();
        while (true) {
            int stopsBefore = count(on.log(), "online verify stopped");
            Cmd.Result verify = on.ctl("verify", "r0");
            assertEquals(0, verify.exit(), verify.err());
            awaitOrExplain(() -> Files.exists(done) || count(on.log(), "online verify stopped") > stopsBefore,
                    "the verify on " + on.node + " to end");
            if (Files.exists(done)) {
                return new Outcome(readEnv(done), stops);
            }
            for (String line : on.log().split("\n")) {
                if (line.contains("online verify stopped") && !stops.contains(line)) {
                    stops.add(line);
                }
            }
            resynced.run();
        }
    }
}
