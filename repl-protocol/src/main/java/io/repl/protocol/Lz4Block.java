package io.repl.protocol;

import java.nio.ByteBuffer;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * LZ4 block compression for payloads on the wire.
 *
 * <p>Compression uses lz4-java's fast compressor. Decompression of network bytes uses only the
 * safe decompressor, which bounds every read and write by the buffers it is given; the
 * "fast" decompressor trusts the input and must never see peer data. The declared length is
 * checked against the limit before the output is allocated, so a small frame claiming a huge
 * block (an LZ4 bomb) costs nothing, and the output must be exactly the declared length.
 */
public final class Lz4Block {
    private static final LZ4Compressor COMPRESSOR = LZ4Factory.fastestJavaInstance().fastCompressor();
    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4Factory.safeInstance().safeDecompressor();

    private Lz4Block() {
    }

    /**
     * Compresses {@code raw} (its remaining bytes, left untouched) and returns the compressed
     * block, or null when compression would not make it smaller, so the caller sends it raw.
     */
    public static ByteBuffer compressIfSmaller(ByteBuffer raw) {
        int rawLength = raw.remaining();
        if (rawLength == 0) {
            return null;
        }
        byte[] out = new byte[COMPRESSOR.maxCompressedLength(rawLength)];
        int n;
        if (raw.hasArray()) {
            n = COMPRESSOR.compress(raw.array(), raw.arrayOffset() + raw.position(), rawLength, out, 0, out.length);
        } else {
            n = COMPRESSOR.compress(raw, raw.position(), rawLength, ByteBuffer.wrap(out), 0, out.length);
        }
        return n < rawLength ? ByteBuffer.wrap(out, 0, n).slice() : null;
    }

    /**
     * Decompresses the remaining bytes of {@code compressed}, which must expand to exactly
     * {@code declaredLength} bytes, itself at most {@code lengthMax}.
     *
     * @param field the field to name in errors
     * @throws ProtocolException on a bad declared length or malformed LZ4 data
     */
    public static ByteBuffer decompress(String field, ByteBuffer compressed, long declaredLength, int lengthMax) {
        if (declaredLength < 1 || declaredLength > lengthMax) {
            throw new ProtocolException(field, "declared uncompressed length " + declaredLength
                    + " is outside 1.." + lengthMax + "; refusing to allocate");
        }
        int srcLength = compressed.remaining();
        if (srcLength == 0 || srcLength >= declaredLength) {
            throw new ProtocolException(field, "compressed length " + srcLength + " must be in 1.."
                    + (declaredLength - 1) + " (smaller than the declared " + declaredLength
                    + " bytes; incompressible blocks are sent raw)");
        }
        byte[] out = new byte[(int) declaredLength];
        int n;
        try {
            if (compressed.hasArray()) {
                n = DECOMPRESSOR.decompress(compressed.array(), compressed.arrayOffset() + compressed.position(),
                        srcLength, out, 0, out.length);
            } else {
                n = DECOMPRESSOR.decompress(compressed, compressed.position(), srcLength,
                        ByteBuffer.wrap(out), 0, out.length);
            }
        } catch (LZ4Exception | IndexOutOfBoundsException e) {
            throw new ProtocolException(field, "malformed LZ4 block of " + srcLength + " bytes declared to expand to "
                    + declaredLength + " bytes: " + e.getMessage(), e);
        }
        if (n != declaredLength) {
            throw new ProtocolException(field, "LZ4 block expanded to " + n + " bytes but " + declaredLength
                    + " were declared");
        }
        return ByteBuffer.wrap(out);
    }
}
