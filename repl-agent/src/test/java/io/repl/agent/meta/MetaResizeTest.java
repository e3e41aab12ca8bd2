package io.repl.agent.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.metadata.MetaPlacement;
import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.MetadataLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Internal metadata on a real file through a grow: found at its old place after the file grew,
 * at either place while a move is under way (a crash at each step), at the new place after it,
 * also with the state directory's record lost.
 */
class MetaResizeTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    private Path disk;
    private MetaLocator locator;

    private MetaPlan planFor(long diskBytes) {
        MetadataLayout layout = MetadataLayout.internal(diskBytes);
        return new MetaPlan(disk, layout, layout.dataBytes());
    }

    private Metadata created(long diskBytes) throws IOException {
        disk = dir.resolve("disk.img");
        grow(diskBytes);
        locator = MetaLocator.in(dir.resolve("state"), "r0");
        MetaPlan plan = planFor(diskBytes);
        FileMetaDevice dev = plan.openDevice();
        Metadata md = Metadata.create(dev, plan.layout(), 0, "alpha", new Random(1));
        md.bitmap().markDirty(4096, 8192);
        md.persistBitmap();
        locator.recordIfNew(plan.dataBytes());
        return md;
    }

    private void grow(long bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[1]), bytes - 1);
        }
    }

    @Test
    void theOldMetadataIsFoundAfterTheFileGrewAndTheNewOneAfterTheMove() throws Exception {
        Metadata md = created(64 * MIB);
        long oldData = md.layout().dataBytes();
        grow(160 * MIB);
        MetaPlan grown = planFor(160 * MIB);
        assertEquals(oldData, locator.locate(grown).dataBytes(), "the old metadata, where it was");

        FileMetaDevice oldDev = FileMetaDevice.open(disk, oldData, md.layout().areaBlocks(), 160 * MIB);
        MetaPlan current = new MetaPlan(disk, md.layout(), oldData);
        List<Metadata> seen = new ArrayList<>();
        MetaResize resize = new MetaResize(disk, current, oldDev, locator, (p, dev, m) -> seen.add(m));
        long capacity = resize.capacityBytes();
        assertEquals(grown.dataBytes(), capacity);
        assertNull(resize.refusal(capacity));
        assertNotNull(resize.refusal(oldData + 4096), "a grow smaller than the metadata area overlaps it");
        assertTrue(resize.refusal(oldData - 4096).contains("shrink by at least"));

        Metadata moved = resize.resize(md, capacity, new long[] {oldData, capacity - oldData});
        assertEquals(List.of(moved), seen);
        assertEquals(capacity, locator.locate(grown).dataBytes());
        assertEquals(List.of(capacity), locator.recorded());
        Files.delete(dir.resolve("state").resolve("r0.meta-location"));
        MetaPlan found = locator.locate(grown);
        assertEquals(capacity, found.dataBytes(), "where the device size says, without the record");
        try (FileMetaDevice dev = found.openDevice()) {
            Metadata reopened = Metadata.open(dev, found.layout(), "alpha");
            assertTrue(reopened.bitmap().isDirty(1) && reopened.bitmap().isDirty(2));
            assertEquals((capacity - oldData) / 4096 + 2, reopened.bitmap().dirtyBlocks());
        }
    }

    @Test
    void aCrashBeforeTheNewSuperblockKeepsTheOldOneAndAfterItTheNewOne() throws Exception {
        Metadata md = created(64 * MIB);
        long oldData = md.layout().dataBytes();
        grow(160 * MIB);
        MetaPlan grown = planFor(160 * MIB);
        // The first steps of a move: both sizes recorded, the new area's superblocks emptied.
        locator.record(oldData, grown.dataBytes());
        try (FileMetaDevice target = grown.openDevice()) {
            target.write(0, new byte[FileMetaDevice.BLOCK_BYTES]);
            target.write(1, new byte[FileMetaDevice.BLOCK_BYTES]);
            target.flush();
            assertEquals(oldData, locator.locate(grown).dataBytes(), "crash before the new superblock");
            // The new superblock is durable; the record still names both places.
            md.resize(target, false, grown.layout());
        }
        assertEquals(grown.dataBytes(), locator.locate(grown).dataBytes(), "crash after the new superblock");
    }

    @Test
    void externalMetadataGrowsInPlaceAndDoesNotShrink() throws Exception {
        disk = dir.resolve("disk.img");
        grow(64 * MIB);
        Path meta = dir.resolve("meta.img");
        MetadataLayout small = MetadataLayout.forData(MetaPlacement.EXTERNAL, 64 * MIB);
        MetaPlan plan = new MetaPlan(meta, small, small.dataBytes());
        plan.prepareExternalFile();
        FileMetaDevice dev = plan.openDevice();
        Metadata md = Metadata.create(dev, small, 0, "alpha", new Random(2));
        locator = MetaLocator.in(dir.resolve("state"), "r0");
        grow(512 * MIB);
        MetaResize resize = new MetaResize(disk, plan, dev, locator, (p, d, m) -> { });
        assertEquals(512 * MIB, resize.capacityBytes());
        assertTrue(resize.refusal(32 * MIB).contains("does not shrink"));
        assertThrows(IOException.class, () -> resize.resize(md, 32 * MIB, new long[0]));
        resize.resize(md, 512 * MIB, new long[] {64 * MIB, 448 * MIB});
        // The configured plan (the disk's size at up) and the superblock agree now.
        MetaPlan found = locator.locate(new MetaPlan(meta, MetadataLayout.forData(MetaPlacement.EXTERNAL, 64 * MIB),
                64 * MIB));
        assertEquals(512 * MIB, found.dataBytes());
    }
}
