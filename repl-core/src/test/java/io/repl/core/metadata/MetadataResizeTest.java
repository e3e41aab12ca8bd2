package io.repl.core.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Online resize of the metadata: internal metadata moves to the new end of the device, external
 * metadata grows in place. A crash at every write position, with every way the disk may have kept
 * the volatile writes, leaves either the old or the new metadata the newest valid one, found by
 * {@link Metadata#newest}, and loses no dirty mark: neither one acknowledged before the resize nor
 * the new area's once the resize returned.
 */
class MetadataResizeTest {

    private static final long MIB = 1 << 20;
    private static final int RING = 4;

    /** A window of a larger device: one metadata area at a block offset of the backing disk's tail. */
    private record Window(MetaDevice disk, long firstBlock, long blocks) implements MetaDevice {
        @Override
        public long blockCount() {
            return blocks;
        }

        @Override
        public void read(long blockIndex, byte[] dst) throws IOException {
            check(blockIndex);
            disk.read(firstBlock + blockIndex, dst);
        }

        @Override
        public void write(long blockIndex, byte[] src) throws IOException {
            check(blockIndex);
            disk.write(firstBlock + blockIndex, src);
        }

        @Override
        public void flush() throws IOException {
            disk.flush();
        }

        private void check(long blockIndex) {
            if (blockIndex < 0 || blockIndex >= blocks) {
                throw new IllegalArgumentException("block " + blockIndex + " outside the window");
            }
        }
    }

    /** What the scenario considers acknowledged. */
    private static final class Acked {
        final BitSet dirty = new BitSet();
        boolean resized;
    }

    // Internal metadata: the "disk" is the tail of the backing device; the old area sits at
    // block 0 of it (data 64 MiB), the new one after 64 MiB more of data.
    private static final MetadataLayout OLD = MetadataLayout.forData(MetaPlacement.INTERNAL, 64 * MIB, RING);
    private static final MetadataLayout NEW = MetadataLayout.forData(MetaPlacement.INTERNAL, 320 * MIB, RING);
    private static final long NEW_FIRST_BLOCK = (NEW.dataBytes() - OLD.dataBytes()) / MetaDevice.BLOCK_BYTES;

    @Test
    void internalMetadataMovesAndACrashAtEveryWriteFindsOldOrNew() throws Exception {
        CrashingMetaDevice base = new CrashingMetaDevice(NEW_FIRST_BLOCK + NEW.areaBlocks());
        Metadata created = Metadata.create(new Window(base, 0, OLD.areaBlocks()), OLD, 1, "alpha", new Random(1));
        created.updateSuperblock(s -> s.withActivityLog(1 << 20, 3));
        for (long seed = 0; seed < 4; seed++) {
            long scenarioSeed = seed;
            forEveryCrash(base, seed, (disk, acked) -> {
                Metadata md = Metadata.open(new Window(disk, 0, OLD.areaBlocks()), OLD, "alpha");
                writes(md, new Random(scenarioSeed), acked, 6);
                long[] inFlight = {8 * MIB, 4096};
                if (!md.beginWrite(inFlight[0], inFlight[1])) {
                    throw new AssertionError("a write is admitted while nothing is in flight");
                }
                Metadata grown = md.resize(new Window(disk, NEW_FIRST_BLOCK, NEW.areaBlocks()), false, NEW,
                        OLD.dataBytes(), NEW.dataBytes() - OLD.dataBytes());
                acked.resized = true;
                acked.dirty.set((int) (OLD.dataBytes() / 4096), (int) (NEW.dataBytes() / 4096));
                // The write admitted before the resize ends on the resized metadata.
                complete(grown, inFlight, acked);
                writes(grown, new Random(scenarioSeed + 100), acked, 6);
            }, (image, acked) -> {
                List<Metadata.Candidate> candidates = List.of(
                        new Metadata.Candidate(new Window(image, 0, OLD.areaBlocks()), OLD),
                        new Metadata.Candidate(new Window(image, NEW_FIRST_BLOCK, NEW.areaBlocks()), NEW));
                int chosen = Metadata.newest(candidates);
                assertTrue(chosen == 1 || !acked.resized, "the resize returned, but the old metadata won");
                Metadata.Candidate c = candidates.get(chosen);
                Metadata reopened = Metadata.open(c.device(), c.layout(), "alpha");
                assertCovers(reopened.bitmap(), acked.dirty);
            });
        }
    }

    @Test
    void externalMetadataGrowsInPlaceAndACrashAtEveryWriteFindsOldOrNew() throws Exception {
        MetadataLayout old = MetadataLayout.forData(MetaPlacement.EXTERNAL, 100 * 4096, RING);
        MetadataLayout grown = MetadataLayout.forData(MetaPlacement.EXTERNAL, 300 * MIB, RING);
        CrashingMetaDevice base = new CrashingMetaDevice(grown.areaBlocks());
        Metadata created = Metadata.create(new Window(base, 0, old.areaBlocks()), old, 1, "alpha", new Random(1));
        created.updateSuperblock(s -> s.withActivityLog(1 << 20, 3));
        forEveryCrash(base, 7, (disk, acked) -> {
            Metadata md = Metadata.open(new Window(disk, 0, old.areaBlocks()), old, "alpha");
            md.bitmap().markDirty(4096, 8192);
            md.persistBitmap();
            acked.dirty.set(1, 3);
            md.resize(new Window(disk, 0, grown.areaBlocks()), true, grown, old.dataBytes(),
                    grown.dataBytes() - old.dataBytes());
            acked.resized = true;
            acked.dirty.set(100, (int) (grown.dataBytes() / 4096));
        }, (image, acked) -> {
            List<Metadata.Candidate> candidates = List.of(
                    new Metadata.Candidate(new Window(image, 0, old.areaBlocks()), old),
                    new Metadata.Candidate(new Window(image, 0, grown.areaBlocks()), grown));
            int chosen = Metadata.newest(candidates);
            assertTrue(chosen == 1 || !acked.resized, "the resize returned, but the old metadata won");
            Metadata.Candidate c = candidates.get(chosen);
            assertCovers(Metadata.open(c.device(), c.layout(), "alpha").bitmap(), acked.dirty);
        });
    }

    @Test
    void aShrinkDropsTheBitsPastTheNewEndAndRefusesWhileWritesRunThere() throws Exception {
        MetadataLayout big = MetadataLayout.forData(MetaPlacement.INTERNAL, 64 * MIB, RING);
        MetadataLayout small = MetadataLayout.forData(MetaPlacement.INTERNAL, 16 * MIB, RING);
        MemoryMetaDevice bigArea = new MemoryMetaDevice(big.areaBlocks());
        MemoryMetaDevice smallArea = new MemoryMetaDevice(small.areaBlocks());
        Metadata md = Metadata.create(bigArea, big, 1, "alpha", new Random(3));
        md.updateSuperblock(s -> s.withActivityLog(1 << 20, 8));
        md.bitmap().markDirty(4096, 4096);
        md.bitmap().markDirty(40 * MIB, 4096);
        assertTrue(md.beginWrite(30 * MIB, 4096));
        assertThrows(IllegalStateException.class, () -> md.resize(smallArea, false, small));
        md.endWrite(30 * MIB, 4096);
        Metadata shrunk = md.resize(smallArea, false, small);
        assertEquals(1, shrunk.bitmap().dirtyBlocks());
        Metadata reopened = Metadata.open(smallArea, small, "alpha");
        assertEquals(16 * MIB, reopened.layout().dataBytes());
        assertEquals(1, reopened.bitmap().dirtyBlocks());
        assertEquals(md.superblock().uuids(), reopened.superblock().uuids());
    }

    /** Random writes completed without the peer, and persists, recording the acknowledged marks. */
    private static void writes(Metadata md, Random random, Acked acked, int count) throws IOException {
        long dataBytes = md.layout().dataBytes();
        for (int i = 0; i < count; i++) {
            long offset = (long) (random.nextDouble() * (dataBytes - 1)) / 4096 * 4096;
            long[] write = {offset, Math.min(dataBytes - offset, 4096L * (1 + random.nextInt(64)))};
            if (!md.beginWrite(write[0], write[1])) {
                throw new AssertionError("admission refused with nothing in flight");
            }
            complete(md, write, acked);
            if (random.nextInt(3) == 0) {
                md.persistBitmap();
            }
        }
    }

    private static void complete(Metadata md, long[] write, Acked acked) {
        md.bitmap().markDirty(write[0], write[1]);
        md.endWrite(write[0], write[1]);
        acked.dirty.set((int) (write[0] / 4096), (int) ((write[0] + write[1] + 4095) / 4096));
    }

    private interface Scenario {
        void run(CrashingMetaDevice disk, Acked acked) throws Exception;
    }

    private interface Check {
        void verify(CrashingMetaDevice image, Acked acked) throws Exception;
    }

    private static void forEveryCrash(CrashingMetaDevice base, long seed, Scenario scenario, Check check)
            throws Exception {
        CrashingMetaDevice counting = base.copyFlushed();
        scenario.run(counting, new Acked());
        long total = counting.writes();
        Random random = new Random(seed * 31 + total);
        for (long crashAt = 0; crashAt <= total; crashAt++) {
            for (CrashingMetaDevice.Mode mode : CrashingMetaDevice.Mode.values()) {
                CrashingMetaDevice disk = base.copyFlushed().crashAfter(crashAt);
                Acked acked = new Acked();
                try {
                    scenario.run(disk, acked);
                } catch (IOException e) {
                    if (!disk.crashed()) {
                        throw e;
                    }
                }
                try {
                    check.verify(disk.afterCrash(mode, random), acked);
                } catch (AssertionError | MetadataException e) {
                    fail("seed " + seed + ", crash at write " + crashAt + " of " + total + ", " + mode + ": "
                            + e.getMessage(), e);
                }
            }
        }
    }

    private static void assertCovers(DirtyBitmap bitmap, BitSet required) {
        for (int block = required.nextSetBit(0); block >= 0; block = required.nextSetBit(block + 1)) {
            assertTrue(bitmap.isDirty(block), "acknowledged dirty block " + block + " was lost");
        }
    }
}
