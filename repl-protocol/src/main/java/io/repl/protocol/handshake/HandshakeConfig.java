package io.repl.protocol.handshake;

import io.repl.protocol.Features;
import io.repl.protocol.Names;
import io.repl.protocol.ProtocolVersion;

/**
 * What one side of a connection expects: who it is, who the peer must be, which resource, the
 * shared secret, and what it can speak.
 *
 * @param localNode this node's name
 * @param peerNode the name the configuration gives the peer
 * @param resource the resource this connection replicates
 * @param secret the shared secret (copied; at least one byte)
 * @param versionMin the oldest protocol version offered
 * @param versionMax the newest protocol version offered
 * @param features the features offered, see {@link Features}
 */
public record HandshakeConfig(String localNode, String peerNode, String resource, byte[] secret,
        int versionMin, int versionMax, int features) {

    public HandshakeConfig {
        Names.requireValid("config.localNode", localNode);
        Names.requireValid("config.peerNode", peerNode);
        Names.requireValid("config.resource", resource);
        if (localNode.equals(peerNode)) {
            // The MAC tells the two directions apart by the node names; equal names would
            // let a response be reflected.
            throw new IllegalArgumentException("local and peer node are both named '" + localNode + "'");
        }
        if (secret == null || secret.length == 0) {
            throw new IllegalArgumentException("the shared secret must not be empty");
        }
        secret = secret.clone();
        if (versionMin < 1 || versionMin > versionMax || versionMax > ProtocolVersion.WIRE_MAX) {
            throw new IllegalArgumentException("version range " + versionMin + ".." + versionMax
                    + " must satisfy 1 <= min <= max <= " + ProtocolVersion.WIRE_MAX);
        }
    }

    /** A configuration offering every version and feature this build implements. */
    public static HandshakeConfig of(String localNode, String peerNode, String resource, byte[] secret) {
        return new HandshakeConfig(localNode, peerNode, resource, secret, ProtocolVersion.MIN, ProtocolVersion.MAX,
                Features.OFFERED);
    }

    /** The same configuration offering {@code features} instead. */
    public HandshakeConfig withFeatures(int offered) {
        return new HandshakeConfig(localNode, peerNode, resource, secret, versionMin, versionMax, offered);
    }

    /** The same configuration offering a different version range (for tests of negotiation). */
    public HandshakeConfig withVersions(int min, int max) {
        return new HandshakeConfig(localNode, peerNode, resource, secret, min, max, features);
    }

    @Override
    public byte[] secret() {
        return secret.clone();
    }

    @Override
    public String toString() {
        // Never print the secret.
        return "HandshakeConfig[" + localNode + " -> " + peerNode + ", resource=" + resource + ", versions="
                + versionMin + ".." + versionMax + ", features=" + Features.describe(features) + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HandshakeConfig c && localNode.equals(c.localNode) && peerNode.equals(c.peerNode)
                && resource.equals(c.resource) && java.util.Arrays.equals(secret, c.secret)
                && versionMin == c.versionMin && versionMax == c.versionMax && features == c.features;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(localNode, peerNode, resource, versionMin, versionMax, features);
    }
}
