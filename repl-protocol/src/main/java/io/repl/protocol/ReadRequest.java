package io.repl.protocol;

/**
 * READ_REQUEST: a node whose own disk cannot serve a read (Diskless, or a Primary whose disk is
 * still being resynced) asks its peer for a range; the peer answers with READ_REPLY or
 * READ_NEG_ACK carrying the same {@code id}.
 *
 * @param id chosen by the asking node, unique among its reads in flight
 * @param offset byte offset, a multiple of 512
 * @param length bytes, a multiple of 512 in 512..32 MiB
 */
public record ReadRequest(long id, long offset, int length) implements Message {
    public static final int BODY_BYTES = 8 + 8 + 4;

    public ReadRequest {
        Check.blockRange("READ_REQUEST", offset, length, Limits.BLOCK_BYTES_MAX);
    }

    @Override
    public MessageType type() {
        return MessageType.READ_REQUEST;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(id);
        body.u64(offset);
        body.u32(length);
    }

    static ReadRequest decode(BodyReader r) {
        long id = r.u64("id");
        long offset = r.u64("offset");
        long length = r.u32("length");
        r.end();
        Check.range(r.field("length"), length, 1, Limits.BLOCK_BYTES_MAX);
        return new ReadRequest(id, offset, (int) length);
    }
}
