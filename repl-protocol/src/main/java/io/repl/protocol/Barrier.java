package io.repl.protocol;

/**
 * BARRIER: closes a write epoch: the peer flushes once every write of the epoch is on its disk, then answers with BARRIER_ACK.
 *
 * @param number the barrier (epoch) number, non-negative
 * @param writes the number of DATA frames in the epoch, 0..2^31-1
 */
public record Barrier(long number, int writes) implements Message {
    public static final int BODY_BYTES = 8 + 4;

    public Barrier {
        Check.range("BARRIER.number", number, 0, Limits.SEQUENCE_MAX);
        Check.range("BARRIER.writes", writes, 0, Integer.MAX_VALUE);
    }

    @Override
    public MessageType type() {
        return MessageType.BARRIER;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(number);
        body.u32(writes);
    }

    static Barrier decode(BodyReader r) {
        long number = r.u64("number");
        long writes = r.u32("writes");
        r.end();
        Check.range(r.field("writes"), writes, 0, Integer.MAX_VALUE);
        return new Barrier(number, (int) writes);
    }
}
