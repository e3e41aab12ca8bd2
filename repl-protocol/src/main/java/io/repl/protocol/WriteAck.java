package io.repl.protocol;

/**
 * WRITE_ACK: the peer has written write {@code seq} to its disk (protocol C acknowledges here).
 *
 * @param seq the sequence number of the acknowledged DATA
 */
public record WriteAck(long seq) implements Message {
    public static final int BODY_BYTES = 8;

    public WriteAck {
        Check.range("WRITE_ACK.seq", seq, 0, Limits.SEQUENCE_MAX);
    }

    @Override
    public MessageType type() {
        return MessageType.WRITE_ACK;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(seq);
    }

    static WriteAck decode(BodyReader r) {
        long seq = r.u64("seq");
        r.end();
        return new WriteAck(seq);
    }
}
