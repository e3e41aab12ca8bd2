package io.repl.protocol;

/**
 * NEG_ACK: the peer failed to write DATA {@code seq}; the sender marks the range out of sync.
 *
 * @param seq the sequence number of the failed DATA
 * @param errno the Linux errno of the failure, 1..4095
 */
public record NegativeAck(long seq, int errno) implements Message {
    public static final int BODY_BYTES = 8 + 4;

    public NegativeAck {
        Check.range("NEG_ACK.seq", seq, 0, Limits.SEQUENCE_MAX);
        Check.range("NEG_ACK.errno", errno, 1, Limits.ERRNO_MAX);
    }

    @Override
    public MessageType type() {
        return MessageType.NEG_ACK;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(seq);
        body.u32(errno);
    }

    static NegativeAck decode(BodyReader r) {
        long seq = r.u64("seq");
        long errno = r.u32("errno");
        r.end();
        Check.range(r.field("errno"), errno, 1, Limits.ERRNO_MAX);
        return new NegativeAck(seq, (int) errno);
    }
}
