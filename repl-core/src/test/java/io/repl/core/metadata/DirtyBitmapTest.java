package io.repl.core.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DirtyBitmapTest {

    private static final long MIB = 1L << 20;

    @Test
    void markingRoundsOutwardAndClearingRoundsInward() {
        DirtyBitmap bitmap = new DirtyBitmap(MIB);
        assertEquals(2, bitmap.markDirty(4095, 2));
        assertTrue(bitmap.isDirty(0));
        assertTrue(bitmap.isDirty(1));
        assertEquals(0, bitmap.markClean(1, 8190), "no whole block inside");
        assertEquals(1, bitmap.markClean(0, 4096));
        assertEquals(1, bitmap.markClean(4095, 4097 + 4096));
        assertEquals(0, bitmap.dirtyBlocks());
        assertEquals(0, bitmap.markDirty(100, 0), "an empty range marks nothing");
    }

    @Test
    void rangesAreCheckedAgainstTheData() {
        DirtyBitmap bitmap = new DirtyBitmap(MIB);
        assertThrows(IllegalArgumentException.class, () -> bitmap.markDirty(-1, 10));
        assertThrows(IllegalArgumentException.class, () -> bitmap.markDirty(MIB - 10, 11));
        assertThrows(IllegalArgumentException.class, () -> bitmap.markDirty(1, Long.MAX_VALUE));
        assertThrows(IllegalArgumentException.class, () -> bitmap.isDirty(256));
        assertThrows(IllegalArgumentException.class, () -> new DirtyBitmap(4097));
        assertEquals(256, bitmap.markDirty(0, MIB));
    }

    @Test
    void agreesWithANaiveModelUnderRandomOperations() {
        Random random = new Random(20240611);
        for (int round = 0; round < 20; round++) {
            long blocks = 1 + random.nextInt(70_000);
            DirtyBitmap bitmap = new DirtyBitmap(blocks * 4096);
            BitSet model = new BitSet();
            for (int op = 0; op < 300; op++) {
                long offset = (long) (random.nextDouble() * blocks * 4096);
                long length = Math.min(blocks * 4096 - offset,
                        random.nextInt(4) == 0 ? random.nextInt(40 * 4096) : random.nextInt(9000));
                if (random.nextInt(3) == 0) {
                    long first = (offset + 4095) / 4096;
                    long end = (offset + length) / 4096;
                    int before = model.cardinality();
                    if (first < end) {
                        model.clear((int) first, (int) end);
                    }
                    assertEquals(before - model.cardinality(), bitmap.markClean(offset, length));
                } else if (length > 0) {
                    int before = model.cardinality();
                    model.set((int) (offset / 4096), (int) ((offset + length + 4095) / 4096));
                    assertEquals(model.cardinality() - before, bitmap.markDirty(offset, length));
                }
                assertEquals(model.cardinality(), bitmap.dirtyBlocks());
            }
            for (int probe = 0; probe < 200; probe++) {
                long from = random.nextInt((int) blocks + 2);
                int dirty = model.nextSetBit((int) from);
                assertEquals(dirty < 0 || dirty >= blocks ? -1 : dirty,
                        bitmap.nextDirtyBlock(from), "next dirty from " + from);
                int clean = model.nextClearBit((int) from);
                assertEquals(Math.min(clean, blocks), bitmap.nextCleanBlock(from),
                        "next clean from " + from);
                long limit = random.nextInt((int) blocks + 130);
                assertEquals(Math.min(Math.min(clean, blocks), limit), bitmap.nextCleanBlock(from, limit),
                        "next clean from " + from + " before " + limit);
            }
        }
    }

    @Test
    void walksDirtyRuns() {
        DirtyBitmap bitmap = new DirtyBitmap(64 * MIB);
        bitmap.setBlocks(10, 20);
        bitmap.setBlocks(63, 130);
        bitmap.setBlocks(16383, 16384);
        StringBuilder runs = new StringBuilder();
        long from = 0;
        for (int step = 0; step < 10; step++) {
            long start = bitmap.nextDirtyBlock(from);
            if (start < 0) {
                break;
            }
            long end = bitmap.nextCleanBlock(start);
            runs.append('[').append(start).append(',').append(end).append(')');
            from = end;
        }
        assertEquals("[10,20)[63,130)[16383,16384)", runs.toString());
        assertEquals(16384, bitmap.nextCleanBlock(16383));
        assertEquals(100, bitmap.nextCleanBlock(63, 100), "the end of a run longer than the limit");
        assertEquals(130, bitmap.nextCleanBlock(63, 1000), "a run shorter than the limit");
        assertEquals(5, bitmap.nextCleanBlock(10, 5), "a limit at or before the start");
    }

    @Test
    void aBoundedScanOfAFullBitmapEndsAtItsLimit() {
        DirtyBitmap bitmap = new DirtyBitmap(64 * MIB);
        bitmap.markAllDirty();
        assertEquals(256 + 7, bitmap.nextCleanBlock(7, 256 + 7));
        assertEquals(bitmap.blocks(), bitmap.nextCleanBlock(7, Long.MAX_VALUE));
        assertEquals(bitmap.blocks(), bitmap.nextCleanBlock(bitmap.blocks() + 3, Long.MAX_VALUE));
        bitmap.clearBlocks(1000, 1001);
        assertEquals(1000, bitmap.nextCleanBlock(7, 5000));
    }

    @Test
    void sixtyFourGibibytesCostTwoMebibytes() {
        DirtyBitmap bitmap = new DirtyBitmap(64L << 30);
        assertEquals(512, bitmap.pageCount());
        assertEquals(bitmap.markAllDirty(), bitmap.blocks());
        assertEquals(64L << 30, bitmap.dirtyBytes());
        assertEquals(0, bitmap.clearBlocks(5, 5));
        assertEquals(bitmap.blocks(), bitmap.clearBlocks(0, bitmap.blocks()));
    }

    @Test
    void persistWritesOnlyChangedPagesAndLoadsBack() throws Exception {
        MetadataLayout layout = MetadataLayout.forData(MetaPlacement.EXTERNAL, 1L << 30, 2);
        CrashingMetaDevice device = new CrashingMetaDevice(layout.areaBlocks());
        DirtyBitmap bitmap = new DirtyBitmap(layout.dataBytes());
        assertEquals(8, bitmap.pageCount());
        bitmap.markDirty(5 * 4096, 4096);
        bitmap.markDirty(3 * 128 * MIB + 77, 10);
        assertEquals(2, bitmap.changedPageCount());
        assertEquals(2, bitmap.persistChanged(device, layout));
        assertEquals(2, device.writes());
        assertEquals(0, bitmap.persistChanged(device, layout), "nothing changed since");
        bitmap.markDirty(7 * 128 * MIB, 4096);
        bitmap.markDirty(6 * 128 * MIB, 4096);
        assertEquals(1, bitmap.persistChangedIn(device, layout, 7 * 128 * MIB, 4 * MIB));
        assertEquals(1, bitmap.changedPageCount());
        bitmap.persistChanged(device, layout);

        DirtyBitmap loaded = DirtyBitmap.load(device, layout);
        assertEquals(4, loaded.dirtyBlocks());
        for (long block = 0; block < loaded.blocks(); block = loaded.nextCleanBlock(block) + 1) {
            long dirty = loaded.nextDirtyBlock(block);
            if (dirty < 0) {
                break;
            }
            assertTrue(bitmap.isDirty(dirty));
            block = dirty;
        }
        assertFalse(loaded.isDirty(6));
    }

    @Test
    void bitsPastTheEndOnDiskAreIgnoredAndWrittenAwayAtTheNextPersist() throws Exception {
        MetadataLayout layout = MetadataLayout.forData(MetaPlacement.EXTERNAL, 100 * 4096, 2);
        CrashingMetaDevice device = new CrashingMetaDevice(layout.areaBlocks());
        byte[] page = new byte[MetaDevice.BLOCK_BYTES];
        page[12] = 0x18; // block 99, the last, and block 100, one past it
        device.poke(layout.bitmapOffsetBlocks(), page);
        DirtyBitmap loaded = DirtyBitmap.load(device, layout);
        assertEquals(1, loaded.dirtyBlocks());
        assertTrue(loaded.isDirty(99));
        assertEquals(1, loaded.persistChanged(device, layout));
        byte[] after = new byte[MetaDevice.BLOCK_BYTES];
        device.read(layout.bitmapOffsetBlocks(), after);
        assertEquals(0x08, after[12]);
    }
}
