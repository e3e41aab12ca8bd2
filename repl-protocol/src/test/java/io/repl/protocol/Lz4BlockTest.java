package io.repl.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
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
}
