package io.repl.protocol;

/**
 * OV_REQUEST: the VerifySource asks the VerifyTarget for the digest of a range during online
 * verify; the answer is {@link VerifyReply}.
 *
 * @param offset byte offset, a multiple of 512
 * @param length bytes, a multiple of 512 in 512..32 MiB
 * @param algorithm the digest the target must compute
 */
public record VerifyRequest(long offset, int length, DigestAlgorithm algorithm) implements Message {
    /** offset u64, length u32, algorithm u8, reserved u8. */
    public static final int BODY_BYTES = 8 + 4 + 1 + 1;
    static final int RESERVED_BYTES = 1;

    public VerifyRequest {
        Check.blockRange("OV_REQUEST", offset, length, Limits.BLOCK_BYTES_MAX);
        Check.present("OV_REQUEST.algorithm", algorithm);
    }

    @Override
    public MessageType type() {
        return MessageType.OV_REQUEST;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(offset);
        body.u32(length);
        body.u8(algorithm.code());
        body.zeros(RESERVED_BYTES);
    }

    static VerifyRequest decode(BodyReader r) {
        long offset = r.u64("offset");
        long length = r.u32("length");
        DigestAlgorithm algorithm = DigestAlgorithm.fromCode(r.field("algorithm"), r.u8("algorithm"));
        r.reserved("reserved", RESERVED_BYTES);
        r.end();
        Check.range(r.field("length"), length, 1, Limits.BLOCK_BYTES_MAX);
        return new VerifyRequest(offset, (int) length, algorithm);
    }
}
