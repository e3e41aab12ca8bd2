package io.repl.protocol;

/**
 * RS_NEG_ACK: the SyncSource could not read the requested range; the SyncTarget keeps it
 * marked out of sync and reports the failure.
 *
 * @param offset byte offset of the request, a multiple of 512
 * @param length bytes of the request, a multiple of 512 in 512..32 MiB
 * @param errno the Linux errno of the failure, 1..4095
 */
public record ResyncNegativeAck(long offset, int length, int errno) implements Message {
    public static final int BODY_BYTES = 8 + 4 + 4;

    public ResyncNegativeAck {
        Check.blockRange("RS_NEG_ACK", offset, length, Limits.BLOCK_BYTES_MAX);
        Check.range("RS_NEG_ACK.errno", errno, 1, Limits.ERRNO_MAX);
    }

    @Override
    public MessageType type() {
        return MessageType.RS_NEG_ACK;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(offset);
        body.u32(length);
        body.u32(errno);
    }

    static ResyncNegativeAck decode(BodyReader r) {
        long offset = r.u64("offset");
        long length = r.u32("length");
        long errno = r.u32("errno");
        r.end();
        Check.range(r.field("length"), length, 1, Limits.BLOCK_BYTES_MAX);
        Check.range(r.field("errno"), errno, 1, Limits.ERRNO_MAX);
        return new ResyncNegativeAck(offset, (int) length, (int) errno);
    }
}
