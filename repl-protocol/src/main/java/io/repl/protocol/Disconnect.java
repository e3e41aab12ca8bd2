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
        Check.text("DISCONNECT.detail", detail, Limits.DETAIL_BYTES_MAX);
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
