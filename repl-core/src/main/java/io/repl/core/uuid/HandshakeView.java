package io.repl.core.uuid;

import java.util.Objects;

/**
 * What one node tells the other about its copy at a handshake, as far as the decision table
 * needs it.
 *
 * @param uuids the node's generation identifiers
 * @param crashedPrimary the node crashed while Primary and has not resynced since (superblock
 *     flag), so its activity log extents may hold writes the other node never saw
 * @param nodeId the node's id in the resource; the two ids differ (checked at the handshake), and
 *     the lower one wins the tie when both crashed as Primary
 */
public record HandshakeView(GenerationUuids uuids, boolean crashedPrimary, int nodeId) {

    public HandshakeView {
        Objects.requireNonNull(uuids, "uuids");
    }
}
