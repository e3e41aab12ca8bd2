package io.repl.agent.config;

import java.nio.file.Path;

/**
 * One {@code [node.NAME]} section: where that node listens for its peer, its data disk, its
 * metadata and its NBD export.
 *
 * @param address where the node accepts its peer; null only for a standalone resource
 * @param metaDisk null for internal metadata (at the end of {@code disk}) or none, else a file
 * @param nbdListen a TCP address for the NBD export; null unless explicitly configured
 * @param noMeta {@code meta-disk = "none"}: a standalone volume without metadata
 */
public record NodeConfig(String name, HostPort address, Path disk, Path metaDisk, Path nbdSocket,
                         HostPort nbdListen, boolean noMeta) {

    public boolean internalMeta() {
        return metaDisk == null && !noMeta;
    }
}
