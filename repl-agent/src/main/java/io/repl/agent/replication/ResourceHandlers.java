package io.repl.agent.replication;

import io.repl.agent.config.HostPort;
import io.repl.core.replication.Hook;
import io.repl.hooks.HookResult;
import io.repl.hooks.HookRunner;
import java.time.Duration;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * One resource's {@code [handlers]}: every handler gets the core's variables plus
 * {@code REPL_RESOURCE}, {@code REPL_NODE} (this node) and {@code REPL_PEER_ADDRESS} (the
 * peer's configured address, which a fence-peer script needs to reach it), and runs with a
 * deadline, out of band.
 */
final class ResourceHandlers {
    private static final System.Logger LOG = System.getLogger(ResourceHandlers.class.getName());
    /** Mount scripts and the like: generous, but a hung one must not pile up. */
    static final Duration HOOK_DEADLINE = Duration.ofMinutes(5);
    /**
     * The fence-peer handler holds the Primary's writes (resource-and-stonith) or a promotion
     * while it runs; past this it is killed and counts as failed, so writes stay held until the
     * operator decides.
     */
    static final Duration FENCE_PEER_DEADLINE = Duration.ofSeconds(60);

    /** How the fence-peer handler ended, as the core takes it: DRBD's exit codes, -1 if it never answered. */
    record FenceAnswer(int exitCode, String output) {
    }

    private final String resource;
    private final String localNode;
    private final HostPort peerAddress;
    private final Map<String, String> commands;
    private final HookRunner runner;

    ResourceHandlers(String resource, String localNode, HostPort peerAddress, Map<String, String> commands,
                     HookRunner runner) {
        this.resource = resource;
        this.localNode = localNode;
        this.peerAddress = peerAddress;
        this.commands = Map.copyOf(commands);
        this.runner = runner;
    }

    /** The same resource and nodes with other commands (adjust). */
    ResourceHandlers withCommands(Map<String, String> next) {
        return new ResourceHandlers(resource, localNode, peerAddress, next, runner);
    }

    /** Runs handler {@code hook} if one is configured, never waited for. */
    void run(String hook, SortedMap<String, String> coreEnv) {
        String cmd = commands.get(hook);
        if (cmd == null) {
            LOG.log(System.Logger.Level.INFO, resource + ": event " + hook + " (no handler configured)");
            runner.unhandled(resource + "/" + hook, env(coreEnv));
            return;
        }
        runner.run(resource + "/" + hook, cmd, env(coreEnv), HOOK_DEADLINE);
    }

    /**
     * Runs the fence-peer handler; the answer completes on a handler thread (or at once when
     * none is configured: the config refuses that combination, so the core gets a failure that
     * keeps its writes held rather than an exception).
     */
    CompletableFuture<FenceAnswer> fencePeer(SortedMap<String, String> coreEnv) {
        String cmd = commands.get(Hook.FENCE_PEER.configName());
        if (cmd == null) {
            return CompletableFuture.completedFuture(new FenceAnswer(-1, "no fence-peer handler configured"));
        }
        return runner.run(resource + "/fence-peer", cmd, env(coreEnv), FENCE_PEER_DEADLINE)
                .thenApply(ResourceHandlers::answer);
    }

    /** The environment of every handler: the core's variables and who and where the nodes are. */
    SortedMap<String, String> env(SortedMap<String, String> coreEnv) {
        SortedMap<String, String> all = new TreeMap<>(coreEnv);
        all.put("REPL_RESOURCE", resource);
        all.put("REPL_NODE", localNode);
        if (peerAddress != null) {
            all.put("REPL_PEER_ADDRESS", peerAddress.toString());
        }
        return all;
    }

    /** A killed or unstartable handler answered nothing: -1, with why. */
    static FenceAnswer answer(HookResult r) {
        if (r.error() != null) {
            return new FenceAnswer(-1, "could not start: " + r.error());
        }
        if (r.timedOut()) {
            return new FenceAnswer(-1, "timed out after " + FENCE_PEER_DEADLINE.toSeconds() + " s and was killed"
                    + (r.output().isBlank() ? "" : "; " + tail(r.output())));
        }
        return new FenceAnswer(r.exitCode(), tail(r.output()));
    }

    /** The last few lines of a handler's output on one line, for the core's log. */
    static String tail(String output) {
        return HookResult.tail(output);
    }
}
