package io.repl.protocol;

/**
 * PING: asks the peer to answer with PING_ACK carrying the same token; a missing answer means the link is dead.
 *
 * @param token any value; the sender uses it to match answers to pings
 */
public record Ping(long token) implements Message {
    public static final int BODY_BYTES = 8;

    @Override
    public MessageType type() {
        return MessageType.PING;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(token);
    }

    static Ping decode(BodyReader r) {
        long token = r.u64("token");
        r.end();
        return new Ping(token);
    }
}
