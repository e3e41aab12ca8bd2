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

    /**
     * A DISCONNECT whose detail is made to fit from any text (a log reason): control characters
     * become '?' (they could forge log lines on the other side) and the text is cut at
     * {@link Limits#DETAIL_BYTES_MAX} UTF-8 bytes.
     */
    public static Disconnect fitting(DisconnectReason reason, String text) {
        return new Disconnect(reason, fit(text));
    }

    /** The part of {@code text} that may travel as a detail, as {@link #fitting} makes it. */
    public static String fit(String text) {
        StringBuilder b = new StringBuilder(Math.min(text.length(), Limits.DETAIL_BYTES_MAX));
        int bytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isISOControl(c) || Character.isSurrogate(c)) {
                c = '?';
            }
            int n = String.valueOf(c).getBytes(StandardCharsets.UTF_8).length;
            if (bytes + n > Limits.DETAIL_BYTES_MAX) {
                break;
            }
            b.append(c);
            bytes += n;
        }
        return b.toString();
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
