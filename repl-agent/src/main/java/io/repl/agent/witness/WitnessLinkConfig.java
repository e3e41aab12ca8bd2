package io.repl.agent.witness;

import io.repl.agent.config.HostPort;
import io.repl.protocol.handshake.HandshakeConfig;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;

/**
 * Everything one {@link WitnessLink} needs, validated once so the link never meets an
 * impossible value.
 *
 * @param resource the resource whose witness this is
 * @param localNode this node's name; never {@code witness}, the witness's own name
 * @param witness where the witness listens ({@code [witness] address})
 * @param secret the resource's shared secret, the HMAC key of the handshake (copied)
 * @param connectRetry the pause between connection attempts
 * @param timeout the limit for connecting and for the handshake
 * @param pingInterval how long the link may hear nothing before it sends PING
 * @param pingTimeout how long after a PING it waits for any byte before it drops the session
 */
public record WitnessLinkConfig(String resource, String localNode, HostPort witness, byte[] secret,
                                Duration connectRetry, Duration timeout, Duration pingInterval,
                                Duration pingTimeout) {
    /** The node name the witness uses in every handshake. */
    static final String WITNESS_NODE = "witness";

    public WitnessLinkConfig {
        Objects.requireNonNull(witness, "witness");
        requirePositive("connectRetry", connectRetry);
        requirePositive("timeout", timeout);
        requirePositive("pingInterval", pingInterval);
        requirePositive("pingTimeout", pingTimeout);
        Objects.requireNonNull(secret, "secret");
        secret = secret.clone();
        // The same checks the handshake makes (names, a non-empty secret, localNode is not
        // "witness"), here, so a bad value fails when the link is configured.
        HandshakeConfig.of(localNode, WITNESS_NODE, resource, secret);
    }

    /** What this node expects of the witness in the handshake. */
    HandshakeConfig handshakeConfig() {
        return HandshakeConfig.of(localNode, WITNESS_NODE, resource, secret);
    }

    @Override
    public byte[] secret() {
        return secret.clone();
    }

    private static void requirePositive(String name, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be a positive duration, got " + d);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WitnessLinkConfig c && resource.equals(c.resource) && localNode.equals(c.localNode)
                && witness.equals(c.witness) && Arrays.equals(secret, c.secret)
                && connectRetry.equals(c.connectRetry) && timeout.equals(c.timeout)
                && pingInterval.equals(c.pingInterval) && pingTimeout.equals(c.pingTimeout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(resource, localNode, witness);
    }

    @Override
    public String toString() {
        // Never print the secret.
        return "WitnessLinkConfig[" + resource + ": " + localNode + " -> witness@" + witness + ", retry "
                + connectRetry + ", timeout " + timeout + ", ping " + pingInterval + "/" + pingTimeout + "]";
    }
}
