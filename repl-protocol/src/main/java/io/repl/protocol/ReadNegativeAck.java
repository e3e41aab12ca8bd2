package io.repl.protocol;

/**
 * READ_NEG_ACK: the peer could not serve a READ_REQUEST (its disk failed the read, or it holds
 * no current copy); the asking node fails the client's read with EIO.
 *
 * @param id the request's id
 * @param errno the Linux errno of the failure, 1..4095
 */
public record ReadNegativeAck(long id, int errno) implements Message {
    public static final int BODY_BYTES = 8 + 4;

    public ReadNegativeAck {
        Check.range("READ_NEG_ACK.errno", errno, 1, Limits.ERRNO_MAX);
    }

    @Override
    public MessageType type() {
        return MessageType.READ_NEG_ACK;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(id);
        body.u32(errno);
    }

    static ReadNegativeAck decode(BodyReader r) {
        long id = r.u64("id");
        long errno = r.u32("errno");
        r.end();
        Check.range(r.field("errno"), errno, 1, Limits.ERRNO_MAX);
        return new ReadNegativeAck(id, (int) errno);
    }
}
