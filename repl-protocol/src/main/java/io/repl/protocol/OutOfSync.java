package io.repl.protocol;

/**
 * OUT_OF_SYNC: the sender knows this range differs between the nodes (a verify mismatch, or a write not mirrored while Ahead); the receiver sets the range in its bitmap.
 *
 * @param offset byte offset, a multiple of 512
 * @param length bytes, a multiple of 512 in 512..32 MiB
 */
public record OutOfSync(long offset, int length) implements Message {
    public static final int BODY_BYTES = 8 + 4;

    public OutOfSync {
        Check.blockRange("OUT_OF_SYNC", offset, length, Limits.BLOCK_BYTES_MAX);
    }

    @Override
    public MessageType type() {
        return MessageType.OUT_OF_SYNC;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(offset);
        body.u32(length);
    }

    static OutOfSync decode(BodyReader r) {
        long offset = r.u64("offset");
        long length = r.u32("length");
        r.end();
        Check.range(r.field("length"), length, 1, Limits.BLOCK_BYTES_MAX);
        return new OutOfSync(offset, (int) length);
    }
}
