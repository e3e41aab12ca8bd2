package io.repl.agent.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import io.repl.core.replication.AfterSplitBrain;
import io.repl.core.replication.CoreConfig;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.Hook;
import io.repl.core.replication.OnCongestion;
import io.repl.core.replication.RateControl;
import io.repl.io.EngineKind;
import io.repl.protocol.DigestAlgorithm;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Reads and validates resource files. Every problem is reported with the file, the key and
 * what is allowed; nothing is defaulted silently except where documented.
 */
public final class ConfigLoader {
    /** Resource and node names: safe in file names, sockets, logs and the wire protocol. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
    public static final String DEFAULT_NBD_DIR = "/run/repl";
    /** One file may not be larger than this: a resource file is a few hundred bytes. */
    private static final long FILE_BYTES_MAX = 1 << 20;

    private static final Set<String> TOP_KEYS = Set.of("protocol", "net", "disk", "handlers", "node", "witness");
    private static final Set<String> NET_KEYS = Set.of("shared-secret", "compression", "ping-interval",
            "ping-timeout", "connect-retry", "timeout", "on-congestion", "congestion-fill", "after-sb-0pri",
            "after-sb-1pri", "after-sb-2pri", "verify-alg");
    /**
     * {@code congestion-fill} when pull-ahead does not say: the peer link's send-queue high water
     * mark, where {@code block} holds writes ({@code PeerLinkConfig.WRITE_BUFFER_HIGH_BYTES_DEFAULT}).
     */
    public static final long CONGESTION_FILL_BYTES_DEFAULT = 32L << 20;
    private static final long CONGESTION_FILL_BYTES_MIN = 1L << 20;
    /** The link queues up to the fill (under protocol A, copies of the payloads): keep it within the heap. */
    private static final long CONGESTION_FILL_BYTES_MAX = 1L << 30;
    private static final Set<String> DISK_KEYS = Set.of("fencing", "io-engine", "size", "on-io-error",
            "resync-rate-max", "resync-rate-min", "c-plan-ahead", "c-fill-target", "resync-rate", "csums");
    /** Keys DRBD users will look for that do nothing here yet, with why: refused rather than ignored. */
    private static final Map<String, String> NOT_DISK_KEYS = Map.of(
            "c-max-rate", "the resync's ceiling is called resync-rate-max here",
            "c-min-rate", "the resync's floor under application writes is called resync-rate-min here",
            "c-delay-target", "the controller steers by the bytes in flight (c-fill-target), not by their delay");
    /** The fastest rate a key may name: 64 GiB/s, beyond any disk and link. */
    private static final long RATE_MAX = 64L << 30;
    /** The controller steps once per core tick (100 ms): a shorter horizon would be one step anyway. */
    private static final Duration PLAN_AHEAD_MIN = Duration.ofMillis(100);
    /** Less in flight than one 64 KiB request would starve even a fast link. */
    private static final long RATE_CONTROL_FILL_MIN = 64 << 10;
    private static final Set<String> NODE_KEYS = Set.of("address", "disk", "meta-disk", "nbd-socket", "nbd-listen");
    private static final Set<String> WITNESS_KEYS = Set.of("address", "on-no-quorum");
    /**
     * The {@code [disk] fencing} values in the order the messages list them. {@code resource-only}
     * is DRBD's name for the same rule as {@code outdate}, accepted so DRBD files carry over.
     */
    private static final Map<String, FailoverPolicy.Fencing> FENCING = fencingNames();
    /** The events a handler can be attached to: exactly those the core fires. */
    public static final Set<String> HANDLERS = Hook.configNames();
    /**
     * Handler names DRBD users will look for that have no event here, with why: refused with
     * that reason rather than accepted and never run.
     */
    private static final Map<String, String> NOT_HANDLERS = Map.of(
            "resync-done", "use after-resync-target (on the node that received the data) or after-resync-source "
                    + "(on the node that sent it)");

    /** Handlers the agent waits for before a role change: a non-zero exit refuses it. */
    public static final Set<String> ROLE_HANDLERS = Set.of("before-promote", "before-demote");
    /** The other {@code [handlers]} keys: the deadline of those and the built-in mount. */
    private static final Set<String> HANDLER_SETTINGS = Set.of("before-timeout", "mount-device", "mount-point",
            "mount-fstype", "mount-options", "mount-attach", "mount-detach");
    private static final Duration BEFORE_TIMEOUT_MIN = Duration.ofSeconds(1);
    private static final Duration BEFORE_TIMEOUT_MAX = Duration.ofMinutes(30);

    private final TomlMapper mapper = new TomlMapper();

    /**
     * Every key a resource file may hold, as the README's configuration reference names it:
     * {@code protocol}, {@code net.timeout}, {@code node.NAME.disk}, {@code handlers.after-promote}.
     */
    public static Set<String> acceptedKeys() {
        Set<String> keys = new java.util.TreeSet<>();
        keys.add("protocol");
        NET_KEYS.forEach(k -> keys.add("net." + k));
        DISK_KEYS.forEach(k -> keys.add("disk." + k));
        NODE_KEYS.forEach(k -> keys.add("node.NAME." + k));
        WITNESS_KEYS.forEach(k -> keys.add("witness." + k));
        HANDLERS.forEach(k -> keys.add("handlers." + k));
        ROLE_HANDLERS.forEach(k -> keys.add("handlers." + k));
        HANDLER_SETTINGS.forEach(k -> keys.add("handlers." + k));
        return keys;
    }

    /** The outcome of reading a config directory: resources that parsed, and the files that did not. */
    public record Directory(Map<String, ResourceConfig> resources, Map<String, String> errors) {}

    /** Reads every {@code *.toml} in {@code dir}; a bad file is reported, the others still load. */
    public Directory loadDirectory(Path dir) throws ConfigException {
        if (!Files.isDirectory(dir)) {
            throw new ConfigException(dir + ": not a directory (--config-dir must name the directory "
                    + "holding one NAME.toml per resource)");
        }
        Map<String, ResourceConfig> ok = new TreeMap<>();
        Map<String, String> bad = new TreeMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.toml")) {
            for (Path f : files) {
                String name = resourceName(f);
                try {
                    ok.put(name, load(f));
                } catch (ConfigException e) {
                    bad.put(name, e.getMessage());
                }
            }
        } catch (IOException e) {
            throw new ConfigException(dir + ": cannot list: " + e.getMessage(), e);
        }
        return new Directory(ok, bad);
    }

    static String resourceName(Path file) {
        String f = file.getFileName().toString();
        return f.endsWith(".toml") ? f.substring(0, f.length() - 5) : f;
    }

    /** Reads one resource file; its name is the file name without {@code .toml}. */
    public ResourceConfig load(Path file) throws ConfigException {
        String name = resourceName(file);
        if (!NAME.matcher(name).matches()) {
            throw new ConfigException(file + ": resource name \"" + name + "\" is not allowed; use 1-63 of "
                    + "A-Z a-z 0-9 _ . - starting with a letter or digit");
        }
        JsonNode root;
        try {
            if (Files.size(file) > FILE_BYTES_MAX) {
                throw new ConfigException(file + ": larger than " + FILE_BYTES_MAX + " bytes; not a resource file");
            }
            root = mapper.readTree(file.toFile());
        } catch (JacksonException e) {
            JsonLocation loc = e.getLocation();
            String where = loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            throw new ConfigException(file + ": not valid TOML" + where + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
        }
        return new Reader(file, name).resource(root);
    }

    /** Walks one parsed file, remembering the file for messages. */
    private static final class Reader {
        private final Path file;
        private final String name;

        Reader(Path file, String name) {
            this.file = file;
            this.name = name;
        }

        ConfigException error(String key, String problem) {
            return new ConfigException(file + ": " + key + ": " + problem);
        }

        ResourceConfig resource(JsonNode root) throws ConfigException {
            if (root == null || !root.isObject()) {
                throw new ConfigException(file + ": empty; a resource needs at least one [node.NAME] section");
            }
            checkKeys(root, "", TOP_KEYS);
            ResourceConfig.Protocol protocol = choice(root, "protocol", "protocol", ResourceConfig.Protocol.class,
                    ResourceConfig.Protocol.C);
            Map<String, NodeConfig> nodes = nodes(table(root, "node", "node"));
            ResourceConfig.Net net = net(table(root, "net", "net"), nodes.size() == 2, protocol);
            ResourceConfig.Disk disk = disk(table(root, "disk", "disk"));
            JsonNode handlersTable = table(root, "handlers", "handlers");
            Map<String, String> handlers = handlers(handlersTable);
            ResourceConfig.RoleActions roleActions = roleActions(handlersTable);
            Optional<ResourceConfig.Witness> witness = witness(table(root, "witness", "witness"), nodes);
            checkFencing(disk.fencing(), handlers, witness.isPresent());
            checkRoleActions(nodes.size(), handlers, roleActions);
            return new ResourceConfig(name, file, protocol, net, disk, handlers, nodes, witness, roleActions);
        }

        /** The {@code [witness]} section, if any: only for a pair, with an address of its own. */
        private Optional<ResourceConfig.Witness> witness(JsonNode n, Map<String, NodeConfig> nodes)
                throws ConfigException {
            if (n == null) {
                return Optional.empty();
            }
            checkKeys(n, "witness.", WITNESS_KEYS);
            if (nodes.size() != 2) {
                throw error("witness", "a standalone resource (one [node] section) has no peer that could be "
                        + "promoted; a witness decides between two nodes, so remove [witness] or add the second node");
            }
            if (nodes.containsKey("witness")) {
                throw error("node.witness", "\"witness\" is the witness's own name in the handshake; with a "
                        + "[witness] section the nodes need other names");
            }
            String addr = string(n, "address", "witness.address", null);
            if (addr == null) {
                throw error("witness.address", "missing; give the witness's HOST:PORT (repl-agent --witness "
                        + "listens there)");
            }
            HostPort address = HostPort.parse(addr);
            if (address == null) {
                throw error("witness.address", "\"" + addr + "\" is not HOST:PORT with a port 1-65535");
            }
            for (NodeConfig node : nodes.values()) {
                if (address.equals(node.address())) {
                    throw error("witness.address", "is node." + node.name() + ".address as well; the witness "
                            + "runs on a third machine with an address of its own");
                }
            }
            FailoverPolicy.OnNoQuorum onNoQuorum = choice(n, "on-no-quorum", "witness.on-no-quorum",
                    FailoverPolicy.OnNoQuorum.class, FailoverPolicy.OnNoQuorum.SUSPEND_IO);
            return Optional.of(new ResourceConfig.Witness(address, onNoQuorum));
        }

        /**
         * The rules between sections: a policy that waits for the fence-peer handler needs one,
         * and a witness is the fencing itself, so it goes only with {@code outdate}.
         */
        private void checkFencing(FailoverPolicy.Fencing fencing, Map<String, String> handlers, boolean witness)
                throws ConfigException {
            if (witness && fencing != FailoverPolicy.Fencing.OUTDATE) {
                throw error("disk.fencing", "\"" + spelling(fencing) + "\" cannot be combined with [witness]: the "
                        + "witness is the fencing (it records which node may write alone); use \"outdate\" (the "
                        + "default) or remove [witness]");
            }
            if (fencing == FailoverPolicy.Fencing.RESOURCE_AND_STONITH
                    && !handlers.containsKey(Hook.FENCE_PEER.configName())) {
                throw error("disk.fencing", "\"resource-and-stonith\" holds writes until the fence-peer handler "
                        + "answers; set handlers.fence-peer (a command that exits 3, 4 or 7 once the peer is "
                        + "Inconsistent, outdated or shot)");
            }
        }

        private Map<String, NodeConfig> nodes(JsonNode section) throws ConfigException {
            if (section == null || section.size() == 0) {
                throw error("node", "missing; a resource needs one [node.NAME] section per node (one for a "
                        + "standalone volume, two for a mirrored pair)");
            }
            if (section.size() > 2) {
                throw error("node", "has " + section.size() + " node sections; at most two are allowed");
            }
            Map<String, NodeConfig> nodes = new LinkedHashMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = section.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                nodes.put(e.getKey(), node(e.getKey(), e.getValue(), section.size() == 2));
            }
            if (nodes.size() == 2) {
                List<NodeConfig> both = new ArrayList<>(nodes.values());
                if (both.get(0).address().equals(both.get(1).address())) {
                    throw error("node", "both nodes have address " + both.get(0).address()
                            + "; each node needs its own address");
                }
            }
            return nodes;
        }

        private NodeConfig node(String nodeName, JsonNode n, boolean paired) throws ConfigException {
            String at = "node." + nodeName;
            if (!NAME.matcher(nodeName).matches()) {
                throw error(at, "node name not allowed; use 1-63 of A-Z a-z 0-9 _ . - starting with a letter or digit");
            }
            if (!n.isObject()) {
                throw error(at, "must be a table ([" + at + "])");
            }
            checkKeys(n, at + ".", NODE_KEYS);
            String addr = string(n, "address", at + ".address", null);
            HostPort address = null;
            if (addr != null) {
                address = HostPort.parse(addr);
                if (address == null) {
                    throw error(at + ".address", "\"" + addr + "\" is not HOST:PORT with a port 1-65535");
                }
            } else if (paired) {
                throw error(at + ".address", "missing; each node of a mirrored pair needs HOST:PORT for its peer link");
            }
            String disk = string(n, "disk", at + ".disk", null);
            if (disk == null || disk.isEmpty()) {
                throw error(at + ".disk", "missing; name the backing block device or file, e.g. \"/dev/sdb\"");
            }
            String meta = string(n, "meta-disk", at + ".meta-disk", "internal");
            boolean noMeta = meta.equals("none");
            if (noMeta && paired) {
                throw error(at + ".meta-disk", "\"none\" is only for a standalone resource (one [node] section); "
                        + "a mirrored pair needs metadata to know which blocks differ");
            }
            Path metaPath = meta.equals("internal") || noMeta ? null
                    : absolute(at + ".meta-disk", meta, "\"internal\", \"none\" or ");
            if (metaPath != null && metaPath.equals(Path.of(disk))) {
                throw error(at + ".meta-disk", "is the data disk itself; use \"internal\" for metadata on the data disk");
            }
            String sock = string(n, "nbd-socket", at + ".nbd-socket", DEFAULT_NBD_DIR + "/" + name + ".nbd");
            String listen = string(n, "nbd-listen", at + ".nbd-listen", null);
            HostPort nbdListen = null;
            if (listen != null) {
                nbdListen = HostPort.parse(listen);
                if (nbdListen == null) {
                    throw error(at + ".nbd-listen", "\"" + listen + "\" is not HOST:PORT with a port 1-65535");
                }
            }
            return new NodeConfig(nodeName, address, absolute(at + ".disk", disk, ""), metaPath,
                    absolute(at + ".nbd-socket", sock, ""), nbdListen, noMeta);
        }

        private Path absolute(String key, String value, String alternatives) throws ConfigException {
            if (!value.startsWith("/") || value.indexOf('\0') >= 0) {
                throw error(key, "\"" + value + "\" is not allowed; use " + alternatives + "an absolute path");
            }
            return Path.of(value).normalize();
        }

        private ResourceConfig.Net net(JsonNode n, boolean paired, ResourceConfig.Protocol protocol)
                throws ConfigException {
            checkKeys(n, "net.", NET_KEYS);
            String secret = string(n, "shared-secret", "net.shared-secret", null);
            if (paired && (secret == null || secret.isEmpty())) {
                throw error("net.shared-secret", "missing; a mirrored pair authenticates its peer link with a "
                        + "shared secret (the same string on both nodes)");
            }
            if (secret != null && secret.length() > 256) {
                throw error("net.shared-secret", "longer than 256 characters");
            }
            return new ResourceConfig.Net(secret,
                    choice(n, "compression", "net.compression", ResourceConfig.Compression.class,
                            // Off unless asked for: LZ4 tried on every block costs a third of the
                            // 4 KiB write rate when the data does not compress (bench/RESULTS.md).
                            ResourceConfig.Compression.NONE),
                    duration(n, "ping-interval", Duration.ofSeconds(10), Duration.ofMillis(100), Duration.ofMinutes(10)),
                    duration(n, "ping-timeout", Duration.ofSeconds(5), Duration.ofMillis(100), Duration.ofMinutes(10)),
                    duration(n, "connect-retry", Duration.ofSeconds(2), Duration.ofMillis(100), Duration.ofMinutes(10)),
                    duration(n, "timeout", Duration.ofSeconds(6), Duration.ofMillis(100), Duration.ofMinutes(10)),
                    onCongestion(n, protocol), congestionFill(n), afterSplitBrain(n),
                    verifyAlgorithm(n));
        }

        /** {@code after-sb-0pri}, {@code after-sb-1pri}, {@code after-sb-2pri}: disconnect unless given. */
        private AfterSplitBrain afterSplitBrain(JsonNode n) throws ConfigException {
            AfterSplitBrain.ZeroPrimaries zero = choice(n, "after-sb-0pri", "net.after-sb-0pri",
                    AfterSplitBrain.ZeroPrimaries.class, AfterSplitBrain.ZeroPrimaries.DISCONNECT);
            AfterSplitBrain.OnePrimary one = choice(n, "after-sb-1pri", "net.after-sb-1pri",
                    AfterSplitBrain.OnePrimary.class, AfterSplitBrain.OnePrimary.DISCONNECT);
            AfterSplitBrain.TwoPrimaries two = choice(n, "after-sb-2pri", "net.after-sb-2pri",
                    AfterSplitBrain.TwoPrimaries.class, AfterSplitBrain.TwoPrimaries.DISCONNECT);
            try {
                return new AfterSplitBrain(zero, one, two);
            } catch (IllegalArgumentException e) {
                throw error("net.after-sb-1pri", e.getMessage());
            }
        }

        /** {@code verify-alg}: the digest online verify compares, named on the wire; the peer computes it too. */
        private DigestAlgorithm verifyAlgorithm(JsonNode n) throws ConfigException {
            String text = string(n, "verify-alg", "net.verify-alg", "crc32c");
            return switch (text) {
                case "crc32c" -> DigestAlgorithm.CRC32C;
                case "sha256" -> DigestAlgorithm.SHA_256;
                default -> throw error("net.verify-alg", "\"" + text + "\" is not one of crc32c, sha256");
            };
        }

        /**
         * {@code on-congestion}: pull-ahead needs protocol A, as in DRBD: a write pulled ahead is
         * acknowledged once local, which A promises and B and C do not.
         */
        private OnCongestion onCongestion(JsonNode n, ResourceConfig.Protocol protocol) throws ConfigException {
            OnCongestion policy = choice(n, "on-congestion", "net.on-congestion", OnCongestion.class,
                    OnCongestion.BLOCK);
            if (policy == OnCongestion.PULL_AHEAD && protocol != ResourceConfig.Protocol.A) {
                throw error("net.on-congestion", "\"pull-ahead\" needs protocol A; with protocol \"" + protocol
                        + "\" a write is acknowledged only once the peer " + (protocol == ResourceConfig.Protocol.B
                        ? "has received it" : "has it on disk") + ", which a write pulled ahead never is, so only "
                        + "\"block\" is allowed");
            }
            return policy;
        }

        /** {@code congestion-fill}: only with pull-ahead, which defaults it to the link's high water mark. */
        private long congestionFill(JsonNode n) throws ConfigException {
            String text = string(n, "congestion-fill", "net.congestion-fill", null);
            boolean pullAhead = string(n, "on-congestion", "net.on-congestion", "block").equals("pull-ahead");
            if (text == null) {
                return pullAhead ? CONGESTION_FILL_BYTES_DEFAULT : 0;
            }
            long bytes = Units.parseSize(text);
            if (bytes <= 0) {
                throw error("net.congestion-fill", "\"" + text + "\" is not a size such as \"8M\" or \"64M\"");
            }
            if (bytes < CONGESTION_FILL_BYTES_MIN || bytes > CONGESTION_FILL_BYTES_MAX) {
                throw error("net.congestion-fill", "\"" + text + "\" is out of range; allowed "
                        + Units.formatSize(CONGESTION_FILL_BYTES_MIN) + " to "
                        + Units.formatSize(CONGESTION_FILL_BYTES_MAX));
            }
            if (!pullAhead) {
                throw error("net.congestion-fill", "applies only with on-congestion = \"pull-ahead\" (under \"block\" "
                        + "new writes wait once the link holds " + Units.formatSize(CONGESTION_FILL_BYTES_DEFAULT)
                        + "); remove it, or set on-congestion = \"pull-ahead\"");
            }
            return bytes;
        }

        private ResourceConfig.Disk disk(JsonNode n) throws ConfigException {
            checkKeys(n, "disk.", DISK_KEYS, NOT_DISK_KEYS);
            FailoverPolicy.Fencing fencing = fencing(n);
            String engine = string(n, "io-engine", "disk.io-engine", "auto");
            EngineKind kind = EngineKind.parse(engine);
            if (kind == null) {
                throw error("disk.io-engine", "\"" + engine + "\" is not one of auto, io_uring, libaio, filechannel");
            }
            long size = 0;
            String sizeText = string(n, "size", "disk.size", null);
            if (sizeText != null) {
                size = Units.parseSize(sizeText);
                if (size <= 0) {
                    throw error("disk.size", "\"" + sizeText + "\" is not a size such as \"64M\", \"10G\" or \"4096\"");
                }
                if (size % 4096 != 0) {
                    throw error("disk.size", "\"" + sizeText + "\" is not a multiple of 4K (the bitmap's block size)");
                }
            }
            String onIoError = string(n, "on-io-error", "disk.on-io-error", "detach");
            CoreConfig.OnIoError policy = switch (onIoError) {
                case "detach" -> CoreConfig.OnIoError.DETACH;
                case "pass-on" -> CoreConfig.OnIoError.PASS_ON;
                default -> throw error("disk.on-io-error", "\"" + onIoError + "\" is not one of detach, pass-on");
            };
            return new ResourceConfig.Disk(fencing, kind, size, policy, bool(n, "csums", "disk.csums", false),
                    resyncRate(n));
        }

        /**
         * The resync rate controller's keys: the ceiling and the floor, the horizon ("0" turns the
         * controller off and {@code resync-rate} is the fixed rate), and the fill target.
         */
        private RateControl resyncRate(JsonNode n) throws ConfigException {
            RateControl d = RateControl.defaults();
            long max = rate(n, "resync-rate-max", d.maxBytesPerSecond());
            long min = rate(n, "resync-rate-min", Math.min(d.minBytesPerSecond(), max));
            if (min > max) {
                throw error("disk.resync-rate-min", "\"" + string(n, "resync-rate-min", "", null) + "\" is above "
                        + "resync-rate-max (" + Units.formatSize(max) + "/s); the floor must not exceed the ceiling");
            }
            long planAhead = planAhead(n, d.planAheadNanos());
            String fillText = string(n, "c-fill-target", "disk.c-fill-target", null);
            long fill = d.fillTargetBytes();
            if (fillText != null) {
                fill = Units.parseSize(fillText);
                if (fill < RATE_CONTROL_FILL_MIN || fill > RateControl.FILL_TARGET_BYTES_MAX || fill % 4096 != 0) {
                    throw error("disk.c-fill-target", "\"" + fillText + "\" is not a size from "
                            + Units.formatSize(RATE_CONTROL_FILL_MIN) + " to "
                            + Units.formatSize(RateControl.FILL_TARGET_BYTES_MAX) + " in whole 4K blocks, such as \"8M\"");
                }
            }
            String fixedText = string(n, "resync-rate", "disk.resync-rate", null);
            if (planAhead > 0) {
                if (fixedText != null) {
                    throw error("disk.resync-rate", "applies only with c-plan-ahead = \"0\" (the controller off); with "
                            + "the controller set resync-rate-max (the ceiling) and resync-rate-min (the floor), or "
                            + "set c-plan-ahead = \"0\"");
                }
                return new RateControl(min, max, planAhead, fill, 0);
            }
            long fixed = rate(n, "resync-rate", max);
            if (fixed < min || fixed > max) {
                throw error("disk.resync-rate", "\"" + fixedText + "\" is outside resync-rate-min ("
                        + Units.formatSize(min) + "/s) to resync-rate-max (" + Units.formatSize(max) + "/s)");
            }
            return RateControl.fixed(fixed, min, max, fill);
        }

        /** A rate: a size per second, "100M" or "100M/s". */
        private long rate(JsonNode n, String key, long dflt) throws ConfigException {
            String text = string(n, key, "disk." + key, null);
            if (text == null) {
                return dflt;
            }
            String size = text.endsWith("/s") ? text.substring(0, text.length() - 2) : text;
            long bytes = Units.parseSize(size);
            if (bytes < RateControl.RATE_MIN || bytes > RATE_MAX) {
                throw error("disk." + key, "\"" + text + "\" is not a rate from " + Units.formatSize(RateControl.RATE_MIN)
                        + " to " + Units.formatSize(RATE_MAX) + " bytes per second, such as \"100M\" or \"100M/s\"");
            }
            return bytes;
        }

        /** {@code c-plan-ahead}: "0" turns the controller off; otherwise at least the core's tick. */
        private long planAhead(JsonNode n, long dflt) throws ConfigException {
            String text = string(n, "c-plan-ahead", "disk.c-plan-ahead", null);
            if (text == null) {
                return dflt;
            }
            Duration d = text.equals("0") ? Duration.ZERO : Units.parseDuration(text);
            if (d == null || !d.isZero() && (d.compareTo(PLAN_AHEAD_MIN) < 0
                    || d.toNanos() > RateControl.PLAN_AHEAD_NANOS_MAX)) {
                throw error("disk.c-plan-ahead", "\"" + text + "\" is not \"0\" (the controller off, a fixed "
                        + "resync-rate) or a duration from " + PLAN_AHEAD_MIN.toMillis() + "ms to 60s, such as \"2s\"");
            }
            return d.toNanos();
        }

        private Map<String, String> handlers(JsonNode n) throws ConfigException {
            Map<String, String> out = new TreeMap<>();
            if (n == null) {
                return out;
            }
            Set<String> allowed = new java.util.HashSet<>(HANDLERS);
            allowed.addAll(ROLE_HANDLERS);
            allowed.addAll(HANDLER_SETTINGS);
            checkKeys(n, "handlers.", allowed, NOT_HANDLERS);
            Iterator<Map.Entry<String, JsonNode>> it = n.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (HANDLER_SETTINGS.contains(e.getKey())) {
                    continue;
                }
                String cmd = string(n, e.getKey(), "handlers." + e.getKey(), null);
                if (cmd == null || cmd.isBlank()) {
                    throw error("handlers." + e.getKey(), "empty; give a command line, or remove the key");
                }
                out.put(e.getKey(), cmd);
            }
            return out;
        }

        /** A standalone resource is always Primary: nothing would ever run before or after a role change. */
        private void checkRoleActions(int nodeCount, Map<String, String> handlers, ResourceConfig.RoleActions actions)
                throws ConfigException {
            if (nodeCount != 1) {
                return;
            }
            for (String k : ROLE_HANDLERS) {
                if (handlers.containsKey(k)) {
                    throw error("handlers." + k, "a standalone resource (one [node] section) is always Primary and "
                            + "never changes role; remove the key or add the second node");
                }
            }
            if (actions.mount().isPresent()) {
                throw error("handlers.mount-device", "a standalone resource (one [node] section) is always Primary "
                        + "and never changes role, so nothing would mount it; mount it yourself");
            }
        }

        /** {@code before-timeout} and the built-in mount, from {@code [handlers]}. */
        private ResourceConfig.RoleActions roleActions(JsonNode n) throws ConfigException {
            String timeout = string(n, "before-timeout", "handlers.before-timeout", null);
            String device = string(n, "mount-device", "handlers.mount-device", null);
            String point = string(n, "mount-point", "handlers.mount-point", null);
            String fstype = string(n, "mount-fstype", "handlers.mount-fstype", null);
            String options = string(n, "mount-options", "handlers.mount-options", null);
            String attach = string(n, "mount-attach", "handlers.mount-attach", null);
            String detach = string(n, "mount-detach", "handlers.mount-detach", null);
            Duration before = ResourceConfig.RoleActions.BEFORE_TIMEOUT_DEFAULT;
            if (timeout != null) {
                before = Units.parseDuration(timeout);
                if (before == null || before.compareTo(BEFORE_TIMEOUT_MIN) < 0
                        || before.compareTo(BEFORE_TIMEOUT_MAX) > 0) {
                    throw error("handlers.before-timeout", "\"" + timeout + "\" is not a duration from 1s to 30m, "
                            + "such as \"30s\" or \"2m\"");
                }
            }
            if (device == null && point == null) {
                String[][] only = {{"handlers.mount-fstype", fstype}, {"handlers.mount-options", options},
                    {"handlers.mount-attach", attach}, {"handlers.mount-detach", detach}};
                for (String[] k : only) {
                    if (k[1] != null) {
                        throw error(k[0], "only with handlers.mount-device and handlers.mount-point");
                    }
                }
                return new ResourceConfig.RoleActions(before, Optional.empty());
            }
            if (device == null || point == null) {
                throw error(device == null ? "handlers.mount-device" : "handlers.mount-point", "missing: the "
                        + "built-in mount needs both mount-device (the export as a block device, e.g. /dev/nbd0) "
                        + "and mount-point");
            }
            for (String[] p : new String[][] {{"handlers.mount-device", device}, {"handlers.mount-point", point}}) {
                if (!p[1].startsWith("/")) {
                    throw error(p[0], "\"" + p[1] + "\" is not an absolute path");
                }
            }
            if (fstype != null && !fstype.matches("[a-z0-9._-]{1,32}")) {
                throw error("handlers.mount-fstype", "\"" + fstype + "\" is not a filesystem type such as ext4 or xfs");
            }
            if (options != null && (options.isBlank() || options.chars().anyMatch(Character::isWhitespace))) {
                throw error("handlers.mount-options", "\"" + options + "\" is not a comma-separated option list "
                        + "such as \"noatime,nodiratime\"");
            }
            for (String[] k : new String[][] {{"handlers.mount-attach", attach}, {"handlers.mount-detach", detach}}) {
                if (k[1] != null && k[1].isBlank()) {
                    throw error(k[0], "empty; give a command line, or remove the key");
                }
            }
            return new ResourceConfig.RoleActions(before, Optional.of(new ResourceConfig.Mount(Path.of(device),
                    Path.of(point), fstype, options, attach, detach)));
        }

        private FailoverPolicy.Fencing fencing(JsonNode n) throws ConfigException {
            String s = string(n, "fencing", "disk.fencing", null);
            if (s == null) {
                return FailoverPolicy.Fencing.OUTDATE;
            }
            FailoverPolicy.Fencing f = FENCING.get(s);
            if (f == null) {
                throw error("disk.fencing", "\"" + s + "\" is not one of " + String.join(", ", FENCING.keySet()));
            }
            return f;
        }

        private JsonNode table(JsonNode parent, String key, String at) throws ConfigException {
            JsonNode n = parent.get(key);
            if (n != null && !n.isObject()) {
                throw error(at, "must be a table ([" + at + "])");
            }
            return n;
        }

        private void checkKeys(JsonNode n, String prefix, Set<String> allowed) throws ConfigException {
            checkKeys(n, prefix, allowed, Map.of());
        }

        /** Refuses keys outside {@code allowed}; those in {@code refused} with their reason. */
        private void checkKeys(JsonNode n, String prefix, Set<String> allowed, Map<String, String> refused)
                throws ConfigException {
            if (n == null) {
                return;
            }
            Iterator<String> it = n.fieldNames();
            while (it.hasNext()) {
                String k = it.next();
                if (!allowed.contains(k)) {
                    String allowedHere = "allowed here: " + String.join(", ", new TreeMap<>(toMap(allowed)).keySet());
                    String why = refused.get(k);
                    throw error(prefix + k, why == null ? "unknown key; " + allowedHere
                            : "not supported: " + why + "; " + allowedHere);
                }
            }
        }

        private static Map<String, Boolean> toMap(Set<String> s) {
            Map<String, Boolean> m = new TreeMap<>();
            s.forEach(k -> m.put(k, true));
            return m;
        }

        private boolean bool(JsonNode parent, String key, String at, boolean dflt) throws ConfigException {
            JsonNode v = parent == null ? null : parent.get(key);
            if (v == null) {
                return dflt;
            }
            if (!v.isBoolean()) {
                throw error(at, "must be true or false (no quotes), got " + describe(v));
            }
            return v.booleanValue();
        }

        private String string(JsonNode parent, String key, String at, String dflt) throws ConfigException {
            JsonNode v = parent == null ? null : parent.get(key);
            if (v == null) {
                return dflt;
            }
            if (!v.isTextual()) {
                throw error(at, "must be a string in quotes, got " + describe(v));
            }
            return v.textValue();
        }

        private <E extends Enum<E>> E choice(JsonNode parent, String key, String at, Class<E> type, E dflt)
                throws ConfigException {
            String s = string(parent, key, at, null);
            if (s == null) {
                return dflt;
            }
            List<String> names = new ArrayList<>();
            for (E e : type.getEnumConstants()) {
                String spelled = spelling(e);
                names.add(spelled);
                if (spelled.equals(s)) {
                    return e;
                }
            }
            throw error(at, "\"" + s + "\" is not one of " + String.join(", ", names));
        }

        private Duration duration(JsonNode parent, String key, Duration dflt, Duration min, Duration max)
                throws ConfigException {
            String at = "net." + key;
            String s = string(parent, key, at, null);
            if (s == null) {
                return dflt;
            }
            Duration d = Units.parseDuration(s);
            if (d == null) {
                throw error(at, "\"" + s + "\" is not a duration such as \"500ms\", \"5s\" or \"2m\"");
            }
            if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
                throw error(at, "\"" + s + "\" is out of range; allowed " + min.toMillis() + "ms to "
                        + max.toMinutes() + "m");
            }
            return d;
        }

        private static String describe(JsonNode v) {
            return v.getNodeType().toString().toLowerCase(Locale.ROOT) + " " + v;
        }
    }

    private static Map<String, FailoverPolicy.Fencing> fencingNames() {
        Map<String, FailoverPolicy.Fencing> m = new LinkedHashMap<>();
        m.put("outdate", FailoverPolicy.Fencing.OUTDATE);
        m.put("resource-only", FailoverPolicy.Fencing.OUTDATE);
        m.put("resource-and-stonith", FailoverPolicy.Fencing.RESOURCE_AND_STONITH);
        m.put("dont-care", FailoverPolicy.Fencing.DONT_CARE);
        return Collections.unmodifiableMap(m);
    }

    /** How a config enum value is written: {@code DONT_CARE} is {@code dont-care}, {@code C} stays {@code C}. */
    public static String spelling(Enum<?> e) {
        String n = e.name();
        return n.length() == 1 ? n : n.toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
