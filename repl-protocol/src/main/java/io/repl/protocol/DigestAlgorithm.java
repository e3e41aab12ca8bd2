package io.repl.protocol;

/** Digest algorithms for checksum resync and online verify, with their fixed output sizes. */
public enum DigestAlgorithm {
    /** Strong enough to skip sending a block whose digest matches. */
    SHA_256(1, 32),
    /** Cheap; only for verify, where a mismatch is reported rather than trusted to skip data. */
    CRC32C(2, 4);

    /** The largest digest of any algorithm, for body limits. */
    public static final int DIGEST_BYTES_MAX = 32;

    private final int code;
    private final int digestBytes;

    DigestAlgorithm(int code, int digestBytes) {
        this.code = code;
        this.digestBytes = digestBytes;
    }

    public int code() {
        return code;
    }

    public int digestBytes() {
        return digestBytes;
    }

    static DigestAlgorithm fromCode(String field, int code) {
        for (DigestAlgorithm a : values()) {
            if (a.code == code) {
                return a;
            }
        }
        throw new ProtocolException(field, "unknown digest algorithm " + code + "; known are 1 (SHA-256) and 2 (CRC32C)");
    }
}
