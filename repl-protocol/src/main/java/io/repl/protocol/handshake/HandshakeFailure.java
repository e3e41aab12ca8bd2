package io.repl.protocol.handshake;

import io.repl.protocol.DisconnectReason;

/**
 * A failed handshake and why. The detail is for the local log; the peer only learns the
 * reason code (and, for a failed authentication, nothing more).
 *
 * @param reason what went wrong
 * @param detail a sentence naming the values involved
 */
public record HandshakeFailure(Reason reason, String detail) {

    /** Every way a handshake can fail. */
    public enum Reason {
        /** The version ranges do not overlap. */
        VERSION_MISMATCH(DisconnectReason.VERSION_MISMATCH),
        /** The peer replicates a different resource. */
        WRONG_RESOURCE(DisconnectReason.WRONG_RESOURCE),
        /** The peer is not the node the configuration names. */
        WRONG_PEER(DisconnectReason.WRONG_PEER),
        /** The peer's HMAC response was wrong: a different secret, or an attack. */
        AUTH_FAILED(DisconnectReason.AUTH_FAILED),
        /** The peer's nonce is ours (a reflection) or one seen before (a replay). */
        BAD_NONCE(DisconnectReason.AUTH_FAILED),
        /** A message arrived that the handshake does not allow at this point. */
        UNEXPECTED_MESSAGE(DisconnectReason.PROTOCOL_ERROR),
        /** The peer sent DISCONNECT. */
        PEER_DISCONNECTED(null);

        private final DisconnectReason wireReason;

        Reason(DisconnectReason wireReason) {
            this.wireReason = wireReason;
        }

        /** The reason sent to the peer, or null when nothing is sent. */
        DisconnectReason wireReason() {
            return wireReason;
        }
    }
}
