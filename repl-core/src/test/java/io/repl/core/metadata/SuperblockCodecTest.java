package io.repl.core.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.uuid.GenerationUuids;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class SuperblockCodecTest {

    static Superblock sample() {
        MetadataLayout layout = MetadataLayout.forData(MetaPlacement.INTERNAL, 1L << 30, 8);
        return new Superblock(41, SuperblockFlag.CONSISTENT.bit() | SuperblockFlag.AL_CLEAN.bit(),
                layout, 0x1234_5678_9abc_def0L, 3, Superblock.hashNodeName("alpha"), 4 << 20, 100,
                GenerationUuids.of(11, 22, 33, 44, 55, 66));
    }

    @Test
    void roundTripsEveryField() throws MetadataException {
        Superblock original = sample();
        byte[] block = SuperblockCodec.encode(original);
        assertEquals(MetaDevice.BLOCK_BYTES, block.length);
        assertEquals(original, SuperblockCodec.decode(block));
        assertEquals("REPLMETA", new String(block, 0, 8, java.nio.charset.StandardCharsets.US_ASCII));
    }

    @Test
    void badMagicAndChecksumAreNamed() {
        byte[] block = SuperblockCodec.encode(sample());
        block[0] ^= 1;
        assertEquals("bad magic", message(block));
        block = SuperblockCodec.encode(sample());
        block[200] = 1;
        assertEquals("checksum mismatch", message(block));
    }

    @Test
    void everyFieldIsValidatedWithANamedMessage() {
        expectProblem(b -> b.putInt(SuperblockCodec.VERSION_OFFSET, 2), "format version 2");
        expectProblem(b -> b.putInt(SuperblockCodec.FLAGS_OFFSET, 1 << 20), "unknown bits");
        expectProblem(b -> b.putLong(SuperblockCodec.SEQUENCE_OFFSET, 0), "sequence 0");
        expectProblem(b -> b.putLong(SuperblockCodec.META_ID_OFFSET, 0), "metadata id");
        expectProblem(b -> b.putLong(SuperblockCodec.DATA_BYTES_OFFSET, 4097), "data size 4097");
        expectProblem(b -> b.putInt(SuperblockCodec.PLACEMENT_OFFSET, 9), "placement 9");
        expectProblem(b -> b.putInt(SuperblockCodec.AL_RING_BLOCKS_OFFSET, 1),
                "activity log ring of 1");
        expectProblem(b -> b.putLong(SuperblockCodec.BITMAP_BLOCKS_OFFSET, 9), "bitmap of 9");
        expectProblem(b -> b.putLong(SuperblockCodec.AL_OFFSET_BLOCKS_OFFSET, 5),
                "activity log offset");
        expectProblem(b -> b.putLong(SuperblockCodec.BITMAP_OFFSET_BLOCKS_OFFSET, 5),
                "bitmap offset");
        expectProblem(b -> b.putLong(SuperblockCodec.AREA_BLOCKS_OFFSET, 5),
                "metadata area size");
        expectProblem(b -> b.putInt(SuperblockCodec.BITMAP_GRANULE_OFFSET, 512),
                "bitmap granule 512");
        expectProblem(b -> b.putInt(SuperblockCodec.AL_EXTENT_BYTES_OFFSET, 3 << 20),
                "activity log extent");
        expectProblem(b -> b.putInt(SuperblockCodec.AL_ACTIVE_MAX_OFFSET, 0),
                "active extents 0");
        expectProblem(b -> b.putInt(SuperblockCodec.NODE_ID_OFFSET, 99), "node id 99");
        expectProblem(b -> b.put(SuperblockCodec.FIELDS_END + 10, (byte) 7),
                "reserved byte " + (SuperblockCodec.FIELDS_END + 10));
    }

    @Test
    void mutatedBlocksDecodeOrFailWithMetadataExceptionOnly() {
        java.util.Random random = new java.util.Random(5);
        byte[] valid = SuperblockCodec.encode(sample());
        for (int trial = 0; trial < 20_000; trial++) {
            byte[] block = valid.clone();
            int flips = 1 + random.nextInt(4);
            for (int i = 0; i < flips; i++) {
                block[random.nextInt(SuperblockCodec.FIELDS_END + 8)] = (byte) random.nextInt();
            }
            if (random.nextBoolean()) {
                BlockChecksum.seal(block);
            }
            try {
                SuperblockCodec.decode(block);
            } catch (MetadataException expected) {
                // The only acceptable failure for bad on-disk data.
            }
        }
    }

    @Test
    void constructorRefusesWhatDecodingRefuses() {
        Superblock good = sample();
        assertThrows(IllegalArgumentException.class, () -> good.withSequence(0));
        assertThrows(IllegalArgumentException.class, () -> good.withActivityLog(4 << 20, 5000));
    }

    /** Breaks one field, reseals the checksum so only the field check can catch it. */
    private static void expectProblem(Consumer<ByteBuffer> breakField, String expected) {
        byte[] block = SuperblockCodec.encode(sample());
        breakField.accept(ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN));
        BlockChecksum.seal(block);
        String message = message(block);
        assertTrue(message.contains(expected), "expected '" + expected + "' in: " + message);
    }

    private static String message(byte[] block) {
        return assertThrows(MetadataException.class, () -> SuperblockCodec.decode(block))
                .getMessage();
    }
}
