package io.repl.agent.config;

import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.OnCongestion;
import io.repl.io.EngineKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * One resource, as read from {@code NAME.toml}; identical on both nodes.
 *
 * @param witness the {@code [witness]} section, empty when the file has none
 * @param roleActions what runs before and after a role change and may refuse it
 */
public record ResourceConfig(String name, Path file, Protocol protocol, Net net, Disk disk,
                             Map<String, String> handlers, Map<String, NodeConfig> nodes,
                             Optional<Witness> witness, RoleActions roleActions) {

    /** As read before role actions existed: none configured. */
    public ResourceConfig(String name, Path file, Protocol protocol, Net net, Disk disk, Map<String, String> handlers,
                          Map<String, NodeConfig> nodes, Optional<Witness> witness) {
        this(name, file, protocol, net, disk, handlers, nodes, witness, RoleActions.NONE);
    }

    /**
     * The handlers that are waited for around a role change ({@code before-promote},
     * {@code before-demote}, in {@link #handlers}) and the built-in mount.
     *
     * @param beforeTimeout how long a before- handler, fsck, mount or unmount may run before it is
     *     killed and the role change refused
     * @param mount the filesystem mounted after a promotion and unmounted before a demotion
     */
    public record RoleActions(Duration beforeTimeout, Optional<Mount> mount) {
        public static final Duration BEFORE_TIMEOUT_DEFAULT = Duration.ofSeconds(60);
        public static final RoleActions NONE = new RoleActions(BEFORE_TIMEOUT_DEFAULT, Optional.empty());
    }

    /**
     * The built-in mount: {@code device} (the export seen as a block device, e.g. {@code /dev/nbd0})
     * on {@code point}, after {@code fsck -p}.
     *
     * @param fstype null: as mount(8) finds it
     * @param options null: mount(8)'s defaults
     * @param attach null, or a command that makes {@code device} (e.g. {@code nbd-client}) before fsck
     * @param detach null, or a command that lets go of {@code device} after the unmount
     */
    public record Mount(Path device, Path point, String fstype, String options, String attach, String detach) {}

    /** Replication protocol: when a write is acknowledged. */
    public enum Protocol { A, B, C }

    public enum Compression { NONE, LZ4 }

    /**
     * The {@code [net]} section.
     *
     * @param onCongestion what a congested peer link does to new writes (block, or pull-ahead)
     * @param congestionFillBytes under pull-ahead, the bytes queued on the peer link above which the
     *     Primary goes Ahead (the link's high water mark); 0 under block
     * @param afterSplitBrain what a split brain found at a handshake does (after-sb-0pri/1pri/2pri)
     * @param verifyAlgorithm the digest online verify compares ({@code verify-alg})
     */
    public record Net(String sharedSecret, Compression compression, Duration pingInterval,
                      Duration pingTimeout, Duration connectRetry, Duration timeout,
                      OnCongestion onCongestion, long congestionFillBytes,
                      io.repl.core.replication.AfterSplitBrain afterSplitBrain,
                      io.repl.protocol.DigestAlgorithm verifyAlgorithm) {}

    /**
     * The {@code [disk]} section.
     *
     * @param fencing what losing the peer without a goodbye means (docs/FAILOVER.md);
     *     {@code resource-only} in the file is {@code OUTDATE} here
     * @param sizeBytes the usable size; 0 means all the backing disk offers
     * @param onIoError what a failed read or write of the data disk does (docs/FAULTS.md)
     * @param csums checksum-based resync when this node is SyncTarget (the peer answers if it can)
     * @param resyncRate the resync rate controller: ceiling, floor, horizon, fill target, or a fixed rate
     */
    public record Disk(FailoverPolicy.Fencing fencing, EngineKind ioEngine, long sizeBytes,
                       io.repl.core.replication.CoreConfig.OnIoError onIoError, boolean csums,
                       io.repl.core.replication.RateControl resyncRate) {}

    /**
     * The {@code [witness]} section: the third process that decides which node may write alone.
     *
     * @param address where the witness listens
     * @param onNoQuorum what a Primary does with writes while it has neither its peer nor the witness
     */
    public record Witness(HostPort address, FailoverPolicy.OnNoQuorum onNoQuorum) {}

    /** True for a resource with a single node section: a local volume with no peer. */
    public boolean standalone() {
        return nodes.size() == 1;
    }

    /**
     * This node's section.
     *
     * @throws ConfigException naming the file and the node sections it has
     */
    public NodeConfig local(String nodeName) throws ConfigException {
        NodeConfig n = nodes.get(nodeName);
        if (n == null) {
            throw new ConfigException(file + ": no [node." + nodeName + "] section for this node; the file has "
                    + String.join(", ", nodes.keySet().stream().map(k -> "[node." + k + "]").toList())
                    + " (start the agent with --node NAME, or fix the section name)");
        }
        return n;
    }

    /** A node's id: its place among the node names in sorted order (0 or 1), -1 if absent. */
    public int nodeId(String nodeName) {
        return new java.util.ArrayList<>(new java.util.TreeSet<>(nodes.keySet())).indexOf(nodeName);
    }

    /** The other node's section, if there is one. */
    public Optional<NodeConfig> peerOf(String nodeName) {
        return nodes.values().stream().filter(n -> !n.name().equals(nodeName)).findFirst();
    }
}
