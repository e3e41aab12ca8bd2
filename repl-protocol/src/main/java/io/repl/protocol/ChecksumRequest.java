package io.repl.protocol;

/**
 * CSUM_REQUEST: the SyncTarget sends the digest of its own copy of a range; the SyncSource compares it with its copy and answers with CSUM_REPLY, sending the data only when they differ.
 *
 * @param offset byte offset, a multiple of 512
 * @param length bytes, a multiple of 512 in 512..32 MiB
 * @param digest the digest of the sender's copy of the range
 */
public record ChecksumRequest(long offset, int length, Digest digest) implements Message {
    /** offset u64, length u32, algorithm u8, reserved u8, then the digest. */
    static final int FIXED_BYTES = 8 + 4 + 1 + 1;
    static final int RESERVED_BYTES = 1;
    public static final int BODY_BYTES_MAX = FIXED_BYTES + DigestAlgorithm.DIGEST_BYTES_MAX;

    public ChecksumRequest {
        Check.blockRange("CSUM_REQUEST", offset, length, Limits.BLOCK_BYTES_MAX);
        Check.present("CSUM_REQUEST.digest", digest);
    }

    @Override
    public MessageType type() {
        return MessageType.CSUM_REQUEST;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(offset);
        body.u32(length);
        body.u8(digest.algorithm().code());
        body.zeros(RESERVED_BYTES);
        digest.encode(body);
    }

    static ChecksumRequest decode(BodyReader r) {
        long offset = r.u64("offset");
        long length = r.u32("length");
        DigestAlgorithm algorithm = DigestAlgorithm.fromCode(r.field("algorithm"), r.u8("algorithm"));
        r.reserved("reserved", RESERVED_BYTES);
        byte[] digest = r.bytes("digest", algorithm.digestBytes());
        r.end();
        Check.range(r.field("length"), length, 1, Limits.BLOCK_BYTES_MAX);
        return new ChecksumRequest(offset, (int) length, new Digest(algorithm, digest));
    }
}
