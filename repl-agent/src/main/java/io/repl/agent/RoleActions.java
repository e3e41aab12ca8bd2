package io.repl.agent;

import io.repl.agent.config.ResourceConfig;
import io.repl.core.replication.CoreStatus;
import io.repl.hooks.HookResult;
import io.repl.hooks.HookRunner;
import io.repl.hooks.MountAction;
import java.time.Duration;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;

/**
 * What runs around an operator's role change and may refuse it: the {@code before-promote} and
 * {@code before-demote} handlers, and the built-in mount (fsck and mount after a promotion,
 * unmount before a demotion). Runs on the control thread that carries the command, each step
 * on a handler thread with {@code before-timeout} as its deadline; the resource's event loop
 * and its data path never wait for it.
 *
 * <p>Only operator commands ({@code replctl primary}/{@code secondary}) pass through here. A
 * demotion the node must make (the witness deposed it, its disk failed, a promotion the peer
 * never saw) and {@code down} are not refusable and run none of this; after-demote still runs.
 * {@code --force} does not skip a veto: the handlers are the operator's own rules for the site,
 * and they see {@code REPL_FORCE=1} to decide for themselves.
 */
final class RoleActions {
    private final String resource;
    private final String node;
    private final ResourceConfig config;
    private final HookRunner runner;

    RoleActions(String resource, String node, ResourceConfig config, HookRunner runner) {
        this.resource = resource;
        this.node = node;
        this.config = config;
        this.runner = runner;
    }

    /** Before a promotion of this Secondary: null to go on, else the refusal. */
    String beforePromote(CoreStatus s, boolean force) {
        return veto("before-promote", "promotion", s, force);
    }

    /**
     * {@code replctl freeze}/{@code thaw}: fsfreeze on the built-in mount of this Primary; null
     * when done, else why not.
     */
    String freeze(CoreStatus s, boolean freeze) {
        MountAction m = mount();
        if (m == null) {
            return "no built-in mount is configured (handlers.mount-device, handlers.mount-point); run fsfreeze "
                    + "on your own mount point";
        }
        return m.freeze(runner, env(freeze ? "freeze" : "thaw", s, false), timeout(), freeze);
    }

    /** Whether a built-in mount is configured (whose detach lets go of the export before a demotion). */
    boolean mounts() {
        return config.roleActions().mount().isPresent();
    }

    /** Before a demotion of this Primary: the handler, then the unmount; null to go on, else the refusal. */
    String beforeDemote(CoreStatus s, boolean force) {
        String refused = veto("before-demote", "demotion", s, force);
        if (refused != null) {
            return refused;
        }
        MountAction m = mount();
        if (m == null) {
            return null;
        }
        String busy = m.unmount(runner, env("before-demote", s, force), timeout());
        return busy == null ? null : "the demotion is refused: " + busy;
    }

    /** After a promotion: fsck and mount; null when done (or nothing to mount), else what failed. */
    String afterPromote(CoreStatus s) {
        MountAction m = mount();
        if (m == null) {
            return null;
        }
        return m.mount(runner, env("after-promote", s, false), timeout());
    }

    private String veto(String handler, String change, CoreStatus s, boolean force) {
        String cmd = config.handlers().get(handler);
        if (cmd == null) {
            return null;
        }
        HookResult r;
        try {
            r = runner.run(resource + "/" + handler, cmd, env(handler, s, force), timeout()).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while the " + handler + " handler ran";
        } catch (ExecutionException e) {
            return "the " + handler + " handler failed: " + e.getCause();
        }
        if (r.succeeded()) {
            return null;
        }
        String tail = HookResult.tail(r.output());
        String how = r.error() != null ? "could not start (" + r.error() + ")"
                : r.timedOut() ? "did not finish within " + timeout().toSeconds() + " s (handlers.before-timeout) and "
                        + "was killed" : "exited with " + r.exitCode();
        return "the " + handler + " handler refused the " + change + ": it " + how + (tail.isEmpty() ? "" : ": " + tail);
    }

    private Duration timeout() {
        return config.roleActions().beforeTimeout();
    }

    private MountAction mount() {
        return config.roleActions().mount().map(m -> new MountAction(resource, m.device(), m.point(), m.fstype(),
                m.options(), m.attach(), m.detach())).orElse(null);
    }

    /** What a before- handler (and the built-in steps) see: who, what is about to happen, and the states now. */
    SortedMap<String, String> env(String event, CoreStatus s, boolean force) {
        SortedMap<String, String> e = new TreeMap<>();
        e.put("REPL_RESOURCE", resource);
        e.put("REPL_NODE", node);
        e.put("REPL_EVENT", event);
        e.put("REPL_FORCE", force ? "1" : "0");
        e.put("REPL_ROLE", s.role().displayName());
        e.put("REPL_DISK", s.disk().displayName());
        e.put("REPL_CONNECTION", s.connection().displayName());
        config.peerOf(node).ifPresent(p -> {
            e.put("REPL_PEER", p.name());
            e.put("REPL_PEER_ADDRESS", String.valueOf(p.address()));
        });
        e.put("REPL_PEER_ROLE", s.peerRole() == null ? "Unknown" : s.peerRole().displayName());
        e.put("REPL_PEER_DISK", s.peerDisk() == null ? "DUnknown" : s.peerDisk().displayName());
        config.roleActions().mount().ifPresent(m -> {
            e.put("REPL_MOUNT_DEVICE", m.device().toString());
            e.put("REPL_MOUNT_POINT", m.point().toString());
        });
        return e;
    }
}
