package io.repl.protocol;

/**
 * OV_REPLY: the VerifyTarget's digest of a range requested by OV_REQUEST; the VerifySource compares it with its own and records a mismatch as out of sync.
 *
 * @param offset byte offset, a multiple of 512
 * @param length bytes, a multiple of 512 in 512..32 MiB
 * @param digest the digest of the sender's copy of the range
 */
public record VerifyReply(long offset, int length, Digest digest) implements Message {
    /** offset u64, length u32, algorithm u8, reserved u8, then the digest. */
    static final int FIXED_BYTES = 8 + 4 + 1 + 1;
    static final int RESERVED_BYTES = 1;
    public static final int BODY_BYTES_MAX = FIXED_BYTES + DigestAlgorithm.DIGEST_BYTES_MAX;

    public VerifyReply {
        Check.blockRange("OV_REPLY", offset, length, Limits.BLOCK_BYTES_MAX);
        Check.present("OV_REPLY.digest", digest);
    }

    @Override
    public MessageType type() {
        return MessageType.OV_REPLY;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(offset);
        body.u32(length);
        body.u8(digest.algorithm().code());
        body.zeros(RESERVED_BYTES);
        digest.encode(body);
    }

    static VerifyReply decode(BodyReader r) {
        long offset = r.u64("offset");
        long length = r.u32("length");
        DigestAlgorithm algorithm = DigestAlgorithm.fromCode(r.field("algorithm"), r.u8("algorithm"));
        r.reserved("reserved", RESERVED_BYTES);
        byte[] digest = r.bytes("digest", algorithm.digestBytes());
        r.end();
        Check.range(r.field("length"), length, 1, Limits.BLOCK_BYTES_MAX);
        return new VerifyReply(offset, (int) length, new Digest(algorithm, digest));
    }
}
