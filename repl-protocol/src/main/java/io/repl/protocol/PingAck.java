package io.repl.protocol;

/**
 * PING_ACK: the answer to PING, echoing its token.
 *
 * @param token any value; the sender uses it to match answers to pings
 */
public record PingAck(long token) implements Message {
    public static final int BODY_BYTES = 8;

    @Override
    public MessageType type() {
        return MessageType.PING_ACK;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(token);
    }

    static PingAck decode(BodyReader r) {
        long token = r.u64("token");
        r.end();
        return new PingAck(token);
    }
}
