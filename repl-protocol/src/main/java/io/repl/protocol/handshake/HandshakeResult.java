package io.repl.protocol.handshake;

import io.repl.protocol.Features;
import io.repl.protocol.WireSettings;

/**
 * A successful handshake: the peer proved it knows the secret, and both sides agree on a
 * version and a set of features.
 *
 * @param version the highest protocol version both speak
 * @param features the features both offered and this build knows
 * @param peerNode the authenticated peer's node name
 */
public record HandshakeResult(int version, int features, String peerNode) {

    /** The settings to give the encoder and decoder of this connection from now on. */
    public WireSettings wireSettings() {
        return WireSettings.session(version, features);
    }

    @Override
    public String toString() {
        return "HandshakeResult[version=" + version + ", features=" + Features.describe(features) + ", peer="
                + peerNode + "]";
    }
}
