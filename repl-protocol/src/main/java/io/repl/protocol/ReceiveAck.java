package io.repl.protocol;

/**
 * RECV_ACK: the peer received write {@code seq} (protocol B acknowledges here).
 *
 * @param seq the sequence number of the acknowledged DATA
 */
public record ReceiveAck(long seq) implements Message {
    public static final int BODY_BYTES = 8;

    public ReceiveAck {
        Check.range("RECV_ACK.seq", seq, 0, Limits.SEQUENCE_MAX);
    }

    @Override
    public MessageType type() {
        return MessageType.RECV_ACK;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(seq);
    }

    static ReceiveAck decode(BodyReader r) {
        long seq = r.u64("seq");
        r.end();
        return new ReceiveAck(seq);
    }
}
