package io.repl.protocol;

/**
 * BARRIER_ACK: every write of the epoch is durable on the peer; the counts must match or the peers disagree about what was sent.
 *
 * @param number the barrier (epoch) number, non-negative
 * @param writes the number of DATA frames in the epoch, 0..2^31-1
 */
public record BarrierAck(long number, int writes) implements Message {
    public static final int BODY_BYTES = 8 + 4;

    public BarrierAck {
        Check.range("BARRIER_ACK.number", number, 0, Limits.SEQUENCE_MAX);
        Check.range("BARRIER_ACK.writes", writes, 0, Integer.MAX_VALUE);
    }

    @Override
    public MessageType type() {
        return MessageType.BARRIER_ACK;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(number);
        body.u32(writes);
    }

    static BarrierAck decode(BodyReader r) {
        long number = r.u64("number");
        long writes = r.u32("writes");
        r.end();
        Check.range(r.field("writes"), writes, 0, Integer.MAX_VALUE);
        return new BarrierAck(number, (int) writes);
    }
}
