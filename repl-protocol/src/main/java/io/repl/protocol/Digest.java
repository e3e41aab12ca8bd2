package io.repl.protocol;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * A digest of one block: the algorithm and its bytes. Immutable: the bytes are copied in and
 * out.
 */
public final class Digest {
    private final DigestAlgorithm algorithm;
    private final byte[] bytes;

    public Digest(DigestAlgorithm algorithm, byte[] bytes) {
        this.algorithm = Check.present("digest.algorithm", algorithm);
        Check.present("digest.bytes", bytes);
        if (bytes.length != algorithm.digestBytes()) {
            throw new ProtocolException("digest.bytes", bytes.length + " bytes, but " + algorithm
                    + " digests are " + algorithm.digestBytes() + " bytes");
        }
        this.bytes = bytes.clone();
    }

    /** Computes the digest of the remaining bytes of {@code data} without moving its position. */
    public static Digest of(DigestAlgorithm algorithm, ByteBuffer data) {
        switch (algorithm) {
            case SHA_256:
                try {
                    MessageDigest sha = MessageDigest.getInstance("SHA-256");
                    sha.update(data.duplicate());
                    return new Digest(algorithm, sha.digest());
                } catch (NoSuchAlgorithmException e) {
                    throw new IllegalStateException("every Java runtime has SHA-256", e);
                }
            case CRC32C:
                CRC32C crc = new CRC32C();
                crc.update(data.duplicate());
                return new Digest(algorithm, ByteBuffer.allocate(Integer.BYTES).putInt((int) crc.getValue()).array());
            default:
                throw new IllegalStateException("no implementation for " + algorithm);
        }
    }

    public DigestAlgorithm algorithm() {
        return algorithm;
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    /** Compares in constant time, since digests may be compared on behalf of the peer. */
    public boolean matches(Digest other) {
        return algorithm == other.algorithm && MessageDigest.isEqual(bytes, other.bytes);
    }

    void encode(BodyWriter body) {
        body.bytes(bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Digest d && algorithm == d.algorithm && Arrays.equals(bytes, d.bytes);
    }

    @Override
    public int hashCode() {
        return 31 * algorithm.hashCode() + Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return algorithm + ":" + HexFormat.of().formatHex(bytes);
    }
}
