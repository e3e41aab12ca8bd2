package io.repl.protocol;

import java.nio.ByteBuffer;
import java.util.Arrays;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import net.jpountz.util.Native;

/**
 * LZ4 block compression for payloads on the wire.
 *
 * <p>Both directions use lz4-java's JNI binding of the C library where it loads (the jar
 * carries it for the usual Linux architectures), and its pure-Java code otherwise. On 1 MiB
 * text blocks the C compressor is about twice as fast as the Java one and compresses a little
 * better, and the C safe decompressor is several times faster (bench/README.md, "LZ4"). Both
 * produce and read the same block format, so peers using either interoperate.
 *
 * <p>Decompression of network bytes uses only a <em>safe</em> decompressor, which bounds every
 * read and write by the buffers it is given; the "fast" decompressor trusts the input and must
 * never see peer data. The declared length is checked against the limit before the output is
 * allocated, so a small frame claiming a huge block (an LZ4 bomb) costs nothing, and the
 * output must be exactly the declared length. The output is always a fresh (zeroed) array, so
 * a crafted block can never copy stale bytes of an earlier block into this one.
 *
 * <p>Compression writes into a scratch array kept per thread (the event loops call this) and
 * returns an exact-size copy, so a frame costs one allocation of its compressed size instead
 * of a zeroed worst-case buffer.
 */
public final class Lz4Block {
    private static final LZ4Factory FACTORY = LZ4Factory.fastestInstance();
    private static final LZ4Compressor COMPRESSOR = FACTORY.fastCompressor();
    private static final LZ4SafeDecompressor DECOMPRESSOR = safeDecompressor(FACTORY);
    /** Blocks up to this size compress into the per-thread scratch array; larger ones allocate. */
    private static final int SCRATCH_RAW_BYTES_MAX = 1 << 20;
    private static final ThreadLocal<byte[]> SCRATCH =
            ThreadLocal.withInitial(() -> new byte[COMPRESSOR.maxCompressedLength(SCRATCH_RAW_BYTES_MAX)]);

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
        int bound = COMPRESSOR.maxCompressedLength(rawLength);
        byte[] out = rawLength <= SCRATCH_RAW_BYTES_MAX ? SCRATCH.get() : new byte[bound];
        int n;
        if (raw.hasArray()) {
            n = COMPRESSOR.compress(raw.array(), raw.arrayOffset() + raw.position(), rawLength, out, 0, bound);
        } else {
            n = COMPRESSOR.compress(raw, raw.position(), rawLength, ByteBuffer.wrap(out), 0, bound);
        }
        return n < rawLength ? ByteBuffer.wrap(Arrays.copyOf(out, n)) : null;
    }

    /** Which implementation runs, for the agent's log: {@code JNI} or a Java one. */
    public static String implementation() {
        return FACTORY.toString();
    }

    /**
     * The C library's safe decompressor when the JNI binding loaded; otherwise the Java one
     * that does not use {@code sun.misc.Unsafe}, whose every access is bounds-checked by the JVM.
     */
    private static LZ4SafeDecompressor safeDecompressor(LZ4Factory factory) {
        return Native.isLoaded() ? factory.safeDecompressor() : LZ4Factory.safeInstance().safeDecompressor();
    }

    /**
     * Decompresses the remaining bytes of {@code compressed}, which must expand to exactly
     * {@code declaredLength} bytes, itself at most {@code lengthMax}.
     *
     * @param field the field to name in errors
     * @throws ProtocolException on a bad declared length or malformed LZ4 data
     */
    public static ByteBuffer decompress(String field, ByteBuffer compressed, long declaredLength, int lengthMax) {
        return decompress(field, compressed, declaredLength, lengthMax, null);
    }

    /**
     * As {@link #decompress(String, ByteBuffer, long, int)}, into a buffer from {@code into}
     * (null: a new heap buffer). The lengths are checked before anything is asked of it.
     */
    static ByteBuffer decompress(String field, ByteBuffer compressed, long declaredLength, int lengthMax,
                                 FrameDecoder.BlockBuffers into) {
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
        // Into a supplied buffer, or into a new heap array (the array path skips a wrapper).
        ByteBuffer out = into != null ? into.acquire((int) declaredLength) : null;
        byte[] array = out == null ? new byte[(int) declaredLength] : null;
        int n;
        try {
            if (out != null) {
                n = DECOMPRESSOR.decompress(compressed, compressed.position(), srcLength, out, out.position(),
                        out.remaining());
            } else if (compressed.hasArray()) {
                n = DECOMPRESSOR.decompress(compressed.array(), compressed.arrayOffset() + compressed.position(),
                        srcLength, array, 0, array.length);
            } else {
                n = DECOMPRESSOR.decompress(compressed, compressed.position(), srcLength,
                        ByteBuffer.wrap(array), 0, array.length);
            }
        } catch (LZ4Exception | IndexOutOfBoundsException e) {
            throw new ProtocolException(field, "malformed LZ4 block of " + srcLength + " bytes declared to expand to "
                    + declaredLength + " bytes: " + e.getMessage(), e);
        }
        if (n != declaredLength) {
            throw new ProtocolException(field, "LZ4 block expanded to " + n + " bytes but " + declaredLength
                    + " were declared");
        }
        return out != null ? out : ByteBuffer.wrap(array);
    }
}
