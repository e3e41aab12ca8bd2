package io.repl.protocol;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * HELLO: the first frame each node sends. It offers a range of protocol versions and a set of
 * features, names the sender and the resource, and carries a fresh random nonce which is the
 * authentication challenge: the peer must answer it with an {@link AuthResponse}.
 *
 * <p>Unknown feature bits are kept, not rejected: a newer peer may offer features this build
 * does not know, and {@link Features#agree} drops them.
 *
 * @param versionMin the oldest protocol version the sender speaks, at least 1
 * @param versionMax the newest, at least {@code versionMin}
 * @param features offered feature bits, see {@link Features}
 * @param nonce 32 random bytes, not all zero
 * @param nodeName the sender's node name
 * @param resourceName the resource this connection replicates
 */
public record Hello(int versionMin, int versionMax, int features, byte[] nonce, String nodeName,
        String resourceName) implements Message {
    static final int VERSION_BYTES = 2;
    static final int FEATURES_BYTES = 4;
    static final int NAME_LENGTH_BYTES = 1;
    /** The longest HELLO: both names at their maximum length. */
    public static final int BODY_BYTES_MAX = 2 * VERSION_BYTES + FEATURES_BYTES + Limits.NONCE_BYTES
            + 2 * (NAME_LENGTH_BYTES + Limits.NAME_BYTES_MAX);

    public Hello {
        Check.range("HELLO.versionMin", versionMin, 1, ProtocolVersion.WIRE_MAX);
        Check.range("HELLO.versionMax", versionMax, versionMin, ProtocolVersion.WIRE_MAX);
        Check.present("HELLO.nonce", nonce);
        if (nonce.length != Limits.NONCE_BYTES) {
            throw new ProtocolException("HELLO.nonce", nonce.length + " bytes; it must be " + Limits.NONCE_BYTES);
        }
        if (isAllZero(nonce)) {
            // An all-zero nonce means the sender's random source is broken; answering it
            // would make the response replayable.
            throw new ProtocolException("HELLO.nonce", "is all zero; it must be random");
        }
        nonce = nonce.clone();
        Check.name("HELLO.nodeName", nodeName);
        Check.name("HELLO.resourceName", resourceName);
    }

    @Override
    public byte[] nonce() {
        return nonce.clone();
    }

    @Override
    public MessageType type() {
        return MessageType.HELLO;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u16(versionMin);
        body.u16(versionMax);
        body.u32(Integer.toUnsignedLong(features));
        body.bytes(nonce);
        body.name(nodeName);
        body.name(resourceName);
    }

    static Hello decode(BodyReader r) {
        int versionMin = r.u16("versionMin");
        int versionMax = r.u16("versionMax");
        int features = (int) r.u32("features");
        byte[] nonce = r.bytes("nonce", Limits.NONCE_BYTES);
        String nodeName = r.name("nodeName");
        String resourceName = r.name("resourceName");
        r.end();
        return new Hello(versionMin, versionMax, features, nonce, nodeName, resourceName);
    }

    private static boolean isAllZero(byte[] bytes) {
        int or = 0;
        for (byte b : bytes) {
            or |= b;
        }
        return or == 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Hello h && versionMin == h.versionMin && versionMax == h.versionMax
                && features == h.features && Arrays.equals(nonce, h.nonce) && nodeName.equals(h.nodeName)
                && resourceName.equals(h.resourceName);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(nonce) * 31 + nodeName.hashCode() * 7 + resourceName.hashCode();
    }

    @Override
    public String toString() {
        return "Hello[versions=" + versionMin + ".." + versionMax + ", features=" + Features.describe(features)
                + ", nonce=" + HexFormat.of().formatHex(nonce, 0, 4) + "..., node=" + nodeName
                + ", resource=" + resourceName + "]";
    }
}
