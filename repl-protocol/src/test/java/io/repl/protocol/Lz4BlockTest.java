package io.repl.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import net.jpountz.lz4.LZ4Factory;
import org.junit.jupiter.api.Test;

class Lz4BlockTest {
    private static final int MAX = Limits.BLOCK_BYTES_MAX;

    private static ProtocolException reject(ByteBuffer compressed, long declared, int max) {
        return assertThrows(ProtocolException.class, () -> Lz4Block.decompress("DATA.data", compressed, declared, max));
    }

    @Test
    void roundTripsHeapAndDirectBuffers() {
        ByteBuffer raw = Samples.compressible(100_000);
        ByteBuffer compressed = Lz4Block.compressIfSmaller(raw);
        assertEquals(raw, Lz4Block.decompress("DATA.data", compressed, raw.remaining(), MAX));
        ByteBuffer direct = ByteBuffer.allocateDirect(100_000).put(raw.duplicate()).flip();
        ByteBuffer compressedDirect = Lz4Block.compressIfSmaller(direct);
        ByteBuffer directIn = ByteBuffer.allocateDirect(compressedDirect.remaining()).put(compressedDirect).flip();
        assertEquals(raw, Lz4Block.decompress("DATA.data", directIn, 100_000, MAX));
        assertEquals(0, direct.position(), "the source is left untouched");
    }

    @Test
    void incompressibleDataIsNotCompressed() {
        assertNull(Lz4Block.compressIfSmaller(Samples.incompressible(4096, 1)));
    }

    @Test
    void bombWithHugeDeclaredLengthIsRefusedBeforeAllocating() {
        ByteBuffer tiny = Lz4Block.compressIfSmaller(Samples.compressible(4096));
        ProtocolException e = reject(tiny, 1L << 40, MAX);
        assertEquals("DATA.data", e.field());
        assertTrue(e.getMessage().contains("refusing to allocate"), e.getMessage());
        assertTrue(e.getMessage().contains("1.." + MAX), e.getMessage());
    }

    @Test
    void bombJustOverTheLimitIsRefusedAndAtTheLimitAccepted() {
        ByteBuffer zeros = ByteBuffer.allocate(MAX);
        ByteBuffer compressed = Lz4Block.compressIfSmaller(zeros);
        assertTrue(compressed.remaining() < MAX / 200, "zeros compress about 255:1");
        assertEquals(zeros, Lz4Block.decompress("DATA.data", compressed.duplicate(), MAX, MAX));
        reject(compressed, MAX + 512L, MAX);
    }

    @Test
    void bombAgainstANegotiatedLimitOnTheWire() {
        WireSettings small = Samples.SESSION.withBlockBytesMax(4096);
        ByteBuffer wire = Samples.wire(DataWrite.of(1, 0, Samples.compressible(256 * 1024), 0), Samples.SESSION);
        // The frame itself is small, so only the declared length can stop it.
        assertTrue(wire.remaining() < FrameHeader.BYTES + DataWrite.FIELDS_BYTES + 4096);
        ProtocolException e = assertThrows(ProtocolException.class, () -> new MessageDecoder(small).decode(wire));
        assertEquals("DATA.length", e.field());
        assertTrue(e.getMessage().contains("outside 1..4096"), e.getMessage());
    }

    @Test
    void declaredLengthLargerThanTheContentIsRejected() {
        ByteBuffer compressed = Lz4Block.compressIfSmaller(Samples.compressible(4096));
        ProtocolException e = reject(compressed, 8192, MAX);
        assertTrue(e.getMessage().contains("expanded to 4096 bytes but 8192 were declared"), e.getMessage());
    }

    @Test
    void declaredLengthSmallerThanTheContentIsRejected() {
        ByteBuffer compressed = Lz4Block.compressIfSmaller(Samples.compressible(8192));
        ProtocolException e = reject(compressed, 4096, MAX);
        assertTrue(e.getMessage().contains("malformed LZ4 block"), e.getMessage());
    }

    @Test
    void garbageIsRejected() {
        ProtocolException e = reject(Samples.incompressible(100, 5), 4096, MAX);
        assertEquals("DATA.data", e.field());
    }

    @Test
    void compressedNotSmallerThanDeclaredIsRejected() {
        ProtocolException e = reject(Samples.incompressible(600, 5), 512, MAX);
        assertTrue(e.getMessage().contains("must be in 1..511"), e.getMessage());
    }

    @Test
    void emptyCompressedBlockIsRejected() {
        reject(ByteBuffer.allocate(0), 512, MAX);
    }

    @Test
    void usesTheCLibraryWhereTheJarCarriesIt() {
        // The bench numbers assume the JNI binding; a silent fallback to Java would halve them.
        String arch = System.getProperty("os.arch");
        if (System.getProperty("os.name").startsWith("Linux") && (arch.equals("amd64") || arch.equals("aarch64"))) {
            assertTrue(Lz4Block.implementation().contains("JNI"), Lz4Block.implementation());
        }
    }

    @Test
    void blocksOfThePureJavaCodecAndOfTheCLibraryInteroperate() {
        // A peer whose JNI binding did not load compresses and decompresses in Java.
        LZ4Factory java = LZ4Factory.safeInstance();
        ByteBuffer raw = mixed(300_000);
        byte[] fromJava = java.fastCompressor().compress(raw.array());
        assertEquals(raw, Lz4Block.decompress("DATA.data", ByteBuffer.wrap(fromJava), raw.remaining(), MAX));
        ByteBuffer ours = Lz4Block.compressIfSmaller(raw);
        byte[] back = new byte[raw.remaining()];
        assertEquals(back.length, java.safeDecompressor().decompress(ours.array(), ours.arrayOffset() + ours.position(),
                ours.remaining(), back, 0));
        assertEquals(raw, ByteBuffer.wrap(back));
    }

    @Test
    void aCompressedBlockIsItsOwnAndTheNextCompressionDoesNotChangeIt() {
        ByteBuffer first = mixed(1 << 20);
        ByteBuffer c1 = Lz4Block.compressIfSmaller(first);
        ByteBuffer snapshot = ByteBuffer.allocate(c1.remaining()).put(c1.duplicate()).flip();
        assertEquals(c1.remaining(), c1.capacity(), "exactly the compressed size, not a worst-case buffer");
        Lz4Block.compressIfSmaller(Samples.compressible(1 << 20));
        assertEquals(snapshot, c1);
        // Larger than the per-thread scratch: still round-trips.
        ByteBuffer big = mixed(3 << 20);
        assertEquals(big, Lz4Block.decompress("DATA.data", Lz4Block.compressIfSmaller(big), big.remaining(), MAX));
    }

    /** Text with random numbers in it: compressible, but not a short repeated pattern. */
    private static ByteBuffer mixed(int length) {
        java.util.Random r = new java.util.Random(length);
        byte[] b = new byte[length];
        byte[] words = "replica write barrier ack sector offset node peer ".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (int i = 0; i < length; i++) {
            b[i] = r.nextInt(8) == 0 ? (byte) ('0' + r.nextInt(10)) : words[(i * 7 + r.nextInt(3)) % words.length];
        }
        return ByteBuffer.wrap(b);
    }
}
