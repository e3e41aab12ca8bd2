package io.repl.agent.peer;

import io.repl.agent.config.ConfigException;
import io.repl.agent.config.HostPort;
import io.repl.agent.config.NodeConfig;
import io.repl.agent.config.ResourceConfig;
import io.repl.core.replication.OnCongestion;
import io.repl.protocol.Features;
import io.repl.protocol.handshake.HandshakeConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;

/**
 * Everything one {@link PeerLink} needs to know, validated once so the link itself never
 * meets an impossible value.
 *
 * @param resource the resource this link replicates
 * @param localNode this node's name
 * @param peerNode the peer's name as configured
 * @param listenAddress where this node accepts the peer (its own {@code address})
 * @param peerAddress where the peer accepts us (the peer's {@code address})
 * @param sharedSecret the HMAC key of the handshake (copied)
 * @param lz4 whether to offer LZ4 compression of blocks
 * @param pingInterval how long the link may be silent before we send PING
 * @param pingTimeout how long after a PING we wait for any traffic before declaring the peer dead
 * @param connectRetry the pause between connection attempts and between binding attempts
 * @param timeout the limit for connecting and for the whole handshake
 * @param writeBufferLowBytes writability returns below this many queued bytes
 * @param writeBufferHighBytes the session turns unwritable above this many queued bytes
 */
public record PeerLinkConfig(String resource, String localNode, String peerNode, HostPort listenAddress,
                             HostPort peerAddress, byte[] sharedSecret, boolean lz4, Duration pingInterval,
                             Duration pingTimeout, Duration connectRetry, Duration timeout,
                             int writeBufferLowBytes, int writeBufferHighBytes) {
    /** Enough to keep a fast link busy for a few milliseconds without hoarding memory. */
    public static final int WRITE_BUFFER_LOW_BYTES_DEFAULT = 8 << 20;
    public static final int WRITE_BUFFER_HIGH_BYTES_DEFAULT = 32 << 20;

    public PeerLinkConfig {
        Objects.requireNonNull(listenAddress, "listenAddress");
        Objects.requireNonNull(peerAddress, "peerAddress");
        requirePositive("pingInterval", pingInterval);
        requirePositive("pingTimeout", pingTimeout);
        requirePositive("connectRetry", connectRetry);
        requirePositive("timeout", timeout);
        if (writeBufferLowBytes <= 0 || writeBufferHighBytes < writeBufferLowBytes) {
            throw new IllegalArgumentException("write buffer water marks must satisfy 0 < low <= high, got "
                    + writeBufferLowBytes + " and " + writeBufferHighBytes);
        }
        sharedSecret = sharedSecret.clone();
        // Validates names and secret with the same rules the handshake applies, so a bad
        // value fails here, at configuration time, and not on the first connection.
        handshakeConfig(resource, localNode, peerNode, sharedSecret, lz4);
    }

    /**
     * The link configuration of {@code localNode} for a resource with two node sections.
     *
     * @throws ConfigException when the resource has no section for this node or no peer
     */
    public static PeerLinkConfig from(ResourceConfig resource, String localNode) throws ConfigException {
        NodeConfig local = resource.local(localNode);
        NodeConfig peer = resource.peerOf(localNode).orElseThrow(() -> new ConfigException(resource.file()
                + ": resource '" + resource.name() + "' has no peer node section, so it has no peer link"));
        if (local.address() == null || peer.address() == null) {
            throw new ConfigException(resource.file() + ": [node." + local.name() + "] and [node." + peer.name()
                    + "] both need an address for the peer link");
        }
        ResourceConfig.Net net = resource.net();
        boolean pullAhead = net.onCongestion() == OnCongestion.PULL_AHEAD;
        // Under pull-ahead the link turns unwritable at the congestion fill, where the Primary goes
        // Ahead, and writable again once most of it has drained, where the resync starts.
        int high = pullAhead ? (int) net.congestionFillBytes() : WRITE_BUFFER_HIGH_BYTES_DEFAULT;
        int low = pullAhead ? Math.min(WRITE_BUFFER_LOW_BYTES_DEFAULT, high / 4) : WRITE_BUFFER_LOW_BYTES_DEFAULT;
        return new PeerLinkConfig(resource.name(), local.name(), peer.name(), local.address(), peer.address(),
                net.sharedSecret().getBytes(StandardCharsets.UTF_8),
                net.compression() == ResourceConfig.Compression.LZ4, net.pingInterval(), net.pingTimeout(),
                net.connectRetry(), net.timeout(), low, high);
    }

    /** What the handshake of every connection of this link expects. */
    public HandshakeConfig handshakeConfig() {
        return handshakeConfig(resource, localNode, peerNode, sharedSecret, lz4);
    }

    private static HandshakeConfig handshakeConfig(String resource, String localNode, String peerNode,
                                                   byte[] secret, boolean lz4) {
        HandshakeConfig c = HandshakeConfig.of(localNode, peerNode, resource, secret);
        return lz4 ? c : c.withFeatures(Features.OFFERED & ~Features.LZ4);
    }

    /**
     * True when this node picks which connection survives when both nodes connect at once:
     * the node whose name sorts lower decides, so both nodes agree without talking about it.
     */
    public boolean decides() {
        return localNode.compareTo(peerNode) < 0;
    }

    /** The same configuration with other liveness timers, for tests. */
    public PeerLinkConfig withPing(Duration interval, Duration timeoutAfterPing) {
        return new PeerLinkConfig(resource, localNode, peerNode, listenAddress, peerAddress, sharedSecret, lz4,
                interval, timeoutAfterPing, connectRetry, timeout, writeBufferLowBytes, writeBufferHighBytes);
    }

    /** The same configuration with another shared secret, for tests. */
    public PeerLinkConfig withSecret(byte[] secret) {
        return new PeerLinkConfig(resource, localNode, peerNode, listenAddress, peerAddress, secret, lz4,
                pingInterval, pingTimeout, connectRetry, timeout, writeBufferLowBytes, writeBufferHighBytes);
    }

    @Override
    public byte[] sharedSecret() {
        return sharedSecret.clone();
    }

    private static void requirePositive(String name, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be a positive duration, got " + d);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PeerLinkConfig c && resource.equals(c.resource) && localNode.equals(c.localNode)
                && peerNode.equals(c.peerNode) && listenAddress.equals(c.listenAddress)
                && peerAddress.equals(c.peerAddress) && Arrays.equals(sharedSecret, c.sharedSecret) && lz4 == c.lz4
                && pingInterval.equals(c.pingInterval) && pingTimeout.equals(c.pingTimeout)
                && connectRetry.equals(c.connectRetry) && timeout.equals(c.timeout)
                && writeBufferLowBytes == c.writeBufferLowBytes && writeBufferHighBytes == c.writeBufferHighBytes;
    }

    @Override
    public int hashCode() {
        return Objects.hash(resource, localNode, peerNode, listenAddress, peerAddress);
    }

    @Override
    public String toString() {
        // Never print the secret.
        return "PeerLinkConfig[" + resource + ": " + localNode + "@" + listenAddress + " <-> " + peerNode + "@"
                + peerAddress + ", lz4=" + lz4 + ", ping " + pingInterval + "/" + pingTimeout + ", retry "
                + connectRetry + ", timeout " + timeout + "]";
    }
}
