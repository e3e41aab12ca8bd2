package io.repl.core.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class MetadataLayoutTest {

    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;

    @Test
    void bitmapCostsOneBitPerFourKibibytes() {
        assertEquals(2 * MIB, MetadataLayout.forData(MetaPlacement.EXTERNAL, 64 * GIB)
                .bitmapBytes());
        assertEquals(32 * MIB, MetadataLayout.forData(MetaPlacement.EXTERNAL, 1024 * GIB)
                .bitmapBytes());
        // One data block still needs a whole page.
        assertEquals(1, MetadataLayout.bitmapBlocksFor(4096));
        assertEquals(1, MetadataLayout.bitmapBlocksFor(128 * MIB));
        assertEquals(2, MetadataLayout.bitmapBlocksFor(128 * MIB + 4096));
    }

    @Test
    void areaIsSuperblocksThenRingThenBitmap() {
        MetadataLayout layout = MetadataLayout.forData(MetaPlacement.EXTERNAL, 64 * GIB);
        assertEquals(2, layout.bitmapOffsetBlocks() - MetadataLayout.AL_RING_BLOCKS_DEFAULT);
        assertEquals(2 + 64 + 512, layout.areaBlocks());
        assertEquals(0, layout.areaOffsetBytes());
    }

    @Test
    void internalMetadataTakesTheTailAndDataIsTheLargestThatFits() {
        Random random = new Random(7);
        for (int trial = 0; trial < 2000; trial++) {
            long device = 300 * 4096L + (random.nextLong() & ((1L << 42) - 1));
            MetadataLayout layout = MetadataLayout.internal(device);
            assertEquals(0, layout.dataBytes() % 4096);
            assertEquals(layout.dataBytes(), layout.areaOffsetBytes());
            assertTrue(layout.dataBytes() + layout.areaBytes() <= device, "fits " + device);
            long bigger = layout.dataBytes() + 4096;
            MetadataLayout next = MetadataLayout.forData(MetaPlacement.INTERNAL, bigger);
            assertTrue(bigger + next.areaBytes() > device, "maximal for " + device);
        }
    }

    @Test
    void internalOfSixtyFourGibibytes() {
        MetadataLayout layout = MetadataLayout.internal(64 * GIB);
        assertEquals(2 * MIB, layout.bitmapBytes());
        assertEquals(64 * GIB - layout.areaBytes(), layout.dataBytes());
    }

    @Test
    void tooSmallDevicesAndBadRingsAreRefused() {
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> MetadataLayout.internal(20 * 4096));
        assertTrue(small.getMessage().contains("too small"), small.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> MetadataLayout.forData(MetaPlacement.EXTERNAL, 4096, 1));
        assertThrows(IllegalArgumentException.class,
                () -> MetadataLayout.forData(MetaPlacement.EXTERNAL, 4095));
        assertThrows(IllegalArgumentException.class,
                () -> new MetadataLayout(MetaPlacement.EXTERNAL, 4096, 4, 2));
        assertThrows(IllegalArgumentException.class, () -> MetadataLayout.internal(-1));
        assertEquals(MetadataLayout.DATA_BYTES_MAX,
                MetadataLayout.internal(Long.MAX_VALUE).dataBytes());
    }
}
