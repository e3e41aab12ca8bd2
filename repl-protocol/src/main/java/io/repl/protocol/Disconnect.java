package io.repl.protocol;

import java.nio.charset.StandardCharsets;

/**
 * DISCONNECT: the sender is closing the connection, and why. Allowed in every phase, so a
 * failed handshake can still say what failed.
 *
 * @param reason the machine-readable reason
 * @param detail a human-readable explanation, at most 512 UTF-8 bytes, no control characters
 */
public record Disconnect(DisconnectReason reason, String detail) implements Message {
    static final int FIXED_BYTES = 2 + 2;
    public static final int BODY_BYTES_MAX = FIXED_BYTES + Limits.DETAIL_BYTES_MAX;

    public Disconnect {
        Check.present("DISCONNECT.reason", reason);
        Check.present("DISCONNECT.detail", detail);
        int bytes = detail.getBytes(StandardCharsets.UTF_8).length;
        Check.range("DISCONNECT.detailLength", bytes, 0, Limits.DETAIL_BYTES_MAX);
        for (int i = 0; i < detail.length(); i++) {
            char c = detail.charAt(i);
            // Control characters would let a peer forge lines in our logs.
            if (Character.isISOControl(c) || Character.isSurrogate(c) && !validSurrogate(detail, i)) {
                throw new ProtocolException("DISCONNECT.detail", String.format(
                        "character U+%04X at index %d is not allowed (no control characters)", (int) c, i));
            }
        }
    }

    private static boolean validSurrogate(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }

    @Override
    public MessageType type() {
        return MessageType.DISCONNECT;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u16(reason.code());
        body.text(detail.getBytes(StandardCharsets.UTF_8));
    }

    static Disconnect decode(BodyReader r) {
        DisconnectReason reason = DisconnectReason.fromCode(r.field("reason"), r.u16("reason"));
        String detail = r.text("detail", Limits.DETAIL_BYTES_MAX);
        r.end();
        return new Disconnect(reason, detail);
    }
}
