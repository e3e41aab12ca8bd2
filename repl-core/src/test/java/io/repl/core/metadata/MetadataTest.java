package io.repl.core.metadata;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.uuid.GenerationUuids;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MetadataTest {

    private static final long MIB = 1L << 20;

    /** 64 MiB of data, a ring of 4, then the activity log tuned to 1 MiB extents, 3 hot. */
    static CrashingMetaDevice smallDevice(MetadataLayout layout) throws Exception {
        CrashingMetaDevice device = new CrashingMetaDevice(layout.areaBlocks());
        Metadata created = Metadata.create(device, layout, 1, "alpha", new Random(1));
        created.updateSuperblock(s -> s.withActivityLog(1 << 20, 3));
        return device;
    }

    static MetadataLayout smallLayout() {
        return MetadataLayout.forData(MetaPlacement.EXTERNAL, 64 * MIB, 4);
    }

    @Test
    void createThenOpenFindsFreshMetadata() throws Exception {
        MetadataLayout layout = MetadataLayout.internal(1L << 30);
        CrashingMetaDevice device = new CrashingMetaDevice(layout.areaBlocks());
        Metadata created = Metadata.create(device, layout, 2, "beta", new Random(3));
        Metadata opened = Metadata.open(device, layout, "beta");
        assertEquals(created.superblock(), opened.superblock());
        assertEquals(GenerationUuids.EMPTY, opened.superblock().uuids());
        assertTrue(opened.superblock().has(SuperblockFlag.AL_CLEAN));
        assertEquals(0, opened.bitmap().dirtyBlocks());
        assertEquals(2, opened.superblock().sequence());
    }

    @Test
    void openRefusesAnotherGeometryOrAnotherNode() throws Exception {
        MetadataLayout layout = smallLayout();
        CrashingMetaDevice device = smallDevice(layout);
        MetadataLayout other = MetadataLayout.forData(MetaPlacement.EXTERNAL, 32 * MIB, 4);
        String geometry = assertThrows(MetadataException.class,
                () -> Metadata.open(device, other, null)).getMessage();
        assertTrue(geometry.contains("does not match the expected"), geometry);
        String node = assertThrows(MetadataException.class,
                () -> Metadata.open(device, layout, "gamma")).getMessage();
        assertTrue(node.contains("another node"), node);
        assertThrows(IllegalArgumentException.class, () -> Metadata.open(
                new CrashingMetaDevice(3), layout, null));
    }

    @Test
    void anUncleanStopMarksTheHotExtentsDirtyAndFlagsACrashedPrimary() throws Exception {
        MetadataLayout layout = smallLayout();
        CrashingMetaDevice device = smallDevice(layout);
        Metadata primary = Metadata.open(device, layout, "alpha");
        primary.updateSuperblock(s -> s.with(SuperblockFlag.PRIMARY, true));
        assertTrue(primary.beginWrite(5 * MIB + 10, 100));
        assertTrue(primary.beginWrite(9 * MIB - 1, 2));
        assertFalse(primary.superblock().has(SuperblockFlag.AL_CLEAN));
        // The process dies here, with the writes in flight.

        Metadata restarted = Metadata.open(device.copyFlushed(), layout, "alpha");
        assertArrayEquals(new long[] {5, 8, 9}, restarted.replayed().extents());
        assertEquals(3 * 256, restarted.bitmap().dirtyBlocks());
        assertTrue(restarted.bitmap().isDirty(5 * 256));
        assertTrue(restarted.bitmap().isDirty(10 * 256 - 1));
        assertTrue(restarted.superblock().has(SuperblockFlag.CRASHED_PRIMARY));
        assertFalse(restarted.superblock().has(SuperblockFlag.PRIMARY));
    }

    @Test
    void aCleanStopReplaysNothing() throws Exception {
        MetadataLayout layout = smallLayout();
        CrashingMetaDevice device = smallDevice(layout);
        Metadata primary = Metadata.open(device, layout, "alpha");
        assertTrue(primary.beginWrite(0, 4096));
        primary.bitmap().markDirty(0, 4096);
        primary.endWrite(0, 4096);
        primary.closeClean();
        Metadata reopened = Metadata.open(device.copyFlushed(), layout, "alpha");
        assertEquals(1, reopened.bitmap().dirtyBlocks(), "only the marked block, not its extent");
        assertTrue(reopened.superblock().has(SuperblockFlag.AL_CLEAN));
        assertEquals(0, reopened.replayed().extents().length);
    }

    @Test
    void theActivityLogIsRetunedOnlyWhileClean() throws Exception {
        MetadataLayout layout = smallLayout();
        Metadata md = Metadata.open(smallDevice(layout), layout, "alpha");
        md.updateSuperblock(s -> s.withActivityLog(2 << 20, 5));
        assertEquals(2 << 20, md.activityLog().extentBytes());
        assertTrue(md.beginWrite(0, 4096));
        assertThrows(IllegalStateException.class,
                () -> md.updateSuperblock(s -> s.withActivityLog(1 << 20, 5)));
    }

    @Test
    void aFullLogOfBusyExtentsMakesTheWriteWait() throws Exception {
        MetadataLayout layout = smallLayout();
        Metadata md = Metadata.open(smallDevice(layout), layout, "alpha");
        assertTrue(md.beginWrite(0, 3 * MIB));
        assertFalse(md.beginWrite(10 * MIB, MIB));
        assertFalse(md.beginWrite(2 * MIB, 2 * MIB), "holds nothing after refusing");
        md.endWrite(MIB, MIB);
        assertTrue(md.beginWrite(2 * MIB, 2 * MIB));
        assertEquals(java.util.List.of(0L, 2L, 3L), md.activityLog().hotExtents());
        assertThrows(IllegalArgumentException.class, () -> md.beginWrite(20 * MIB, 4 * MIB),
                "four extents can never be hot together when three may");
    }
}
