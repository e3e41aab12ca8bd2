package io.repl.protocol;

/**
 * RS_REQUEST: the SyncTarget asks for a range it needs; the SyncSource answers with RS_DATA or RS_NEG_ACK.
 *
 * @param offset byte offset, a multiple of 512
 * @param length bytes, a multiple of 512 in 512..32 MiB
 */
public record ResyncRequest(long offset, int length) implements Message {
    public static final int BODY_BYTES = 8 + 4;

    public ResyncRequest {
        Check.blockRange("RS_REQUEST", offset, length, Limits.BLOCK_BYTES_MAX);
    }

    @Override
    public MessageType type() {
        return MessageType.RS_REQUEST;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(offset);
        body.u32(length);
    }

    static ResyncRequest decode(BodyReader r) {
        long offset = r.u64("offset");
        long length = r.u32("length");
        r.end();
        Check.range(r.field("length"), length, 1, Limits.BLOCK_BYTES_MAX);
        return new ResyncRequest(offset, (int) length);
    }
}
