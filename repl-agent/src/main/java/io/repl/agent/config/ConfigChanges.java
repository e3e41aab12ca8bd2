package io.repl.agent.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * What changed between the file a resource runs with and the file as it is now, key by key,
 * split into what {@code replctl adjust} applies to the running resource and what needs
 * {@code down} and {@code up} (docs/OPERATIONS.md, section 9).
 *
 * <p>Applied live: the handlers (from the next event), and the settings the core reads when it
 * starts something: checksum resync and the resync rate controller (the next resync this node
 * receives), the verify digest (the next verify), the after-split-brain policies (the next
 * handshake). Everything else is wired into what runs (the protocol decides each write's
 * acknowledgement and whether its payload is copied; the link's timers and compression, the
 * fencing and witness rules, the disk, its engine and its metadata, the addresses and sockets)
 * and needs {@code down}/{@code up}.
 *
 * @param live the keys adjust applies, each as {@code key: old -> new}
 * @param restart the keys that need down and up, likewise (a secret's value is never shown)
 */
public record ConfigChanges(List<String> live, List<String> restart) {

    public boolean none() {
        return live.isEmpty() && restart.isEmpty();
    }

    public static ConfigChanges between(ResourceConfig was, ResourceConfig now) {
        List<String> live = new ArrayList<>();
        List<String> restart = new ArrayList<>();
        diff(restart, "protocol", was.protocol(), now.protocol());
        ResourceConfig.Net a = was.net();
        ResourceConfig.Net b = now.net();
        if (!Objects.equals(a.sharedSecret(), b.sharedSecret())) {
            restart.add("net.shared-secret (changed)");
        }
        diff(restart, "net.compression", a.compression(), b.compression());
        diff(restart, "net.ping-interval", a.pingInterval(), b.pingInterval());
        diff(restart, "net.ping-timeout", a.pingTimeout(), b.pingTimeout());
        diff(restart, "net.connect-retry", a.connectRetry(), b.connectRetry());
        diff(restart, "net.timeout", a.timeout(), b.timeout());
        diff(restart, "net.on-congestion", a.onCongestion(), b.onCongestion());
        diff(restart, "net.congestion-fill", a.congestionFillBytes(), b.congestionFillBytes());
        diff(live, "net.after-sb-0pri", a.afterSplitBrain().zeroPrimaries(), b.afterSplitBrain().zeroPrimaries());
        diff(live, "net.after-sb-1pri", a.afterSplitBrain().onePrimary(), b.afterSplitBrain().onePrimary());
        diff(live, "net.after-sb-2pri", a.afterSplitBrain().twoPrimaries(), b.afterSplitBrain().twoPrimaries());
        diff(live, "net.verify-alg", a.verifyAlgorithm(), b.verifyAlgorithm());
        ResourceConfig.Disk c = was.disk();
        ResourceConfig.Disk d = now.disk();
        diff(restart, "disk.fencing", c.fencing(), d.fencing());
        diff(restart, "disk.io-engine", c.ioEngine(), d.ioEngine());
        diff(restart, "disk.size", c.sizeBytes(), d.sizeBytes());
        diff(restart, "disk.on-io-error", c.onIoError(), d.onIoError());
        diff(live, "disk.csums", c.csums(), d.csums());
        diff(live, "disk.resync-rate-min", c.resyncRate().minBytesPerSecond(), d.resyncRate().minBytesPerSecond());
        diff(live, "disk.resync-rate-max", c.resyncRate().maxBytesPerSecond(), d.resyncRate().maxBytesPerSecond());
        diff(live, "disk.c-plan-ahead", c.resyncRate().planAheadNanos() / 1_000_000 + "ms",
                d.resyncRate().planAheadNanos() / 1_000_000 + "ms");
        diff(live, "disk.c-fill-target", c.resyncRate().fillTargetBytes(), d.resyncRate().fillTargetBytes());
        diff(live, "disk.resync-rate", c.resyncRate().fixedBytesPerSecond(), d.resyncRate().fixedBytesPerSecond());
        for (String h : new TreeSet<>(union(was.handlers(), now.handlers()))) {
            diff(live, "handlers." + h, was.handlers().get(h), now.handlers().get(h));
        }
        diff(live, "handlers.before-timeout", was.roleActions().beforeTimeout(), now.roleActions().beforeTimeout());
        // What is mounted now was mounted by the old settings: the next demotion must unmount that.
        diff(restart, "handlers.mount-*", was.roleActions().mount().orElse(null), now.roleActions().mount().orElse(null));
        diff(restart, "witness.address", was.witness().map(ResourceConfig.Witness::address).orElse(null),
                now.witness().map(ResourceConfig.Witness::address).orElse(null));
        diff(restart, "witness.on-no-quorum", was.witness().map(ResourceConfig.Witness::onNoQuorum).orElse(null),
                now.witness().map(ResourceConfig.Witness::onNoQuorum).orElse(null));
        for (String n : new TreeSet<>(union(was.nodes(), now.nodes()))) {
            NodeConfig x = was.nodes().get(n);
            NodeConfig y = now.nodes().get(n);
            if (x == null || y == null) {
                restart.add("[node." + n + "] " + (x == null ? "added" : "removed"));
                continue;
            }
            String k = "node." + n + ".";
            diff(restart, k + "address", x.address(), y.address());
            diff(restart, k + "disk", x.disk(), y.disk());
            diff(restart, k + "meta-disk", x.noMeta() ? "none" : x.internalMeta() ? "internal" : x.metaDisk(),
                    y.noMeta() ? "none" : y.internalMeta() ? "internal" : y.metaDisk());
            diff(restart, k + "nbd-socket", x.nbdSocket(), y.nbdSocket());
            diff(restart, k + "nbd-listen", x.nbdListen(), y.nbdListen());
        }
        return new ConfigChanges(List.copyOf(live), List.copyOf(restart));
    }

    private static java.util.Set<String> union(Map<String, ?> a, Map<String, ?> b) {
        java.util.Set<String> s = new TreeSet<>(a.keySet());
        s.addAll(b.keySet());
        return s;
    }

    private static void diff(List<String> into, String key, Object was, Object now) {
        if (!Objects.equals(was, now)) {
            into.add(key + ": " + show(was) + " -> " + show(now));
        }
    }

    private static String show(Object v) {
        if (v == null) {
            return "(none)";
        }
        return v instanceof String s ? "\"" + s + "\"" : v.toString();
    }
}
