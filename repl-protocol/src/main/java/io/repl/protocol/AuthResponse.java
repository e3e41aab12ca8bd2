package io.repl.protocol;

import java.util.Arrays;

/**
 * AUTH_RESPONSE: the sender's proof that it knows the shared secret, an HMAC-SHA256 over the
 * peer's HELLO nonce and the rest of the handshake transcript (see
 * {@code io.repl.protocol.handshake.Handshake}).
 *
 * @param mac the 32-byte HMAC
 */
public record AuthResponse(byte[] mac) implements Message {
    public static final int BODY_BYTES = Limits.MAC_BYTES;

    public AuthResponse {
        Check.present("AUTH_RESPONSE.mac", mac);
        if (mac.length != Limits.MAC_BYTES) {
            throw new ProtocolException("AUTH_RESPONSE.mac", mac.length + " bytes; it must be " + Limits.MAC_BYTES);
        }
        mac = mac.clone();
    }

    @Override
    public byte[] mac() {
        return mac.clone();
    }

    @Override
    public MessageType type() {
        return MessageType.AUTH_RESPONSE;
    }

    @Override
    public void encode(BodyWriter body) {
        body.bytes(mac);
    }

    static AuthResponse decode(BodyReader r) {
        byte[] mac = r.bytes("mac", Limits.MAC_BYTES);
        r.end();
        return new AuthResponse(mac);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AuthResponse a && Arrays.equals(mac, a.mac);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(mac);
    }

    @Override
    public String toString() {
        // The MAC is not secret, but it is noise in logs.
        return "AuthResponse[32 bytes]";
    }
}
