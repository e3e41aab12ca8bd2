package io.repl.agent.witness;

import io.repl.agent.config.ConfigException;
import io.repl.agent.config.ConfigLoader;
import io.repl.agent.config.HostPort;
import io.repl.agent.config.ResourceConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A config directory as the witness sees it. The files are read by the agent's own
 * {@link ConfigLoader}, so the witness refuses exactly the files the nodes refuse.
 */
final class WitnessConfigs {
    private WitnessConfigs() {
    }

    /** A resource the witness serves: one with a {@code [witness]} section. */
    record Served(ResourceConfig config) {
        Served {
            if (config.witness().isEmpty()) {
                throw new IllegalArgumentException(config.file() + " has no [witness] section");
            }
        }

        String name() {
            return config.name();
        }

        HostPort address() {
            return config.witness().orElseThrow().address();
        }

        /** The HMAC key, as the peer link takes it from the same file. */
        byte[] secret() {
            return config.net().sharedSecret().getBytes(StandardCharsets.UTF_8);
        }

        /** The two node names in sorted order: a name's index is its node id. */
        List<String> nodes() {
            return List.copyOf(new TreeSet<>(config.nodes().keySet()));
        }

        /** The node id of {@code node}; -1 if it is not a node of this resource. */
        int nodeId(String node) {
            return config.nodeId(node);
        }

        /** The limit for connecting and for the handshake. */
        Duration timeout() {
            return config.net().timeout();
        }

        /** A node that sends nothing for this long is gone: its link would have sent PING long before. */
        Duration silenceMax() {
            return config.net().pingInterval().plus(config.net().pingTimeout());
        }

        @Override
        public String toString() {
            return "Served[" + name() + " " + nodes() + " at " + address() + "]";
        }
    }

    /**
     * @param served resources with a {@code [witness]} section, by name
     * @param unwitnessed resources without one, by name, with their file
     * @param errors files that cannot be served, by resource name, with the message
     */
    record Directory(Map<String, Served> served, Map<String, Path> unwitnessed, Map<String, String> errors) {
    }

    /** Reads every {@code *.toml} in {@code dir}; a bad file is reported, the others still count. */
    static Directory load(Path dir) throws ConfigException {
        ConfigLoader.Directory all = new ConfigLoader().loadDirectory(dir);
        Map<String, Served> served = new TreeMap<>();
        Map<String, Path> unwitnessed = new TreeMap<>();
        Map<String, String> errors = new TreeMap<>(all.errors());
        all.resources().forEach((name, config) -> {
            if (config.witness().isEmpty()) {
                unwitnessed.put(name, config.file());
            } else if (config.nodes().containsKey(WitnessLinkConfig.WITNESS_NODE)) {
                errors.put(name, config.file() + ": node." + WitnessLinkConfig.WITNESS_NODE + ": \""
                        + WitnessLinkConfig.WITNESS_NODE + "\" is the witness's own name in the handshake; a node of "
                        + "a resource with a witness needs another name");
            } else {
                served.put(name, new Served(config));
            }
        });
        return new Directory(served, unwitnessed, errors);
    }
}
