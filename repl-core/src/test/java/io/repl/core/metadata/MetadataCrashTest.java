package io.repl.core.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * TARGETS R6: a crash at every write position of a metadata update, with every way the disk may
 * have kept the volatile writes, still opens to a valid superblock and loses no dirty mark that
 * was in place before a write was acknowledged.
 */
class MetadataCrashTest {

    private static final long SEEDS = 12;
    private static final int OPERATIONS = 50;

    /** Something the test does to a device, recording what it considers acknowledged. */
    private interface Scenario<M> {
        void run(CrashingMetaDevice device, M model) throws Exception;
    }

    @Test
    void superblockUpdatesSurviveACrashAtEveryWrite() throws Exception {
        MetadataLayout layout = MetadataCrashTest.layout();
        CrashingMetaDevice base = MetadataTest.smallDevice(layout);
        for (long seed = 0; seed < SEEDS; seed++) {
            long scenarioSeed = seed;
            Scenario<List<Superblock>> updates = (device, written) -> {
                Metadata md = Metadata.open(device, layout, "alpha");
                written.add(md.superblock());
                Random random = new Random(scenarioSeed);
                for (int i = 0; i < 12; i++) {
                    SuperblockFlag flag = SuperblockFlag.values()[random.nextInt(4)];
                    Superblock next = md.superblock().with(flag, random.nextBoolean())
                            .withUuids(md.superblock().uuids().newCurrent(random));
                    written.add(next.withSequence(next.sequence() + 1));
                    md.updateSuperblock(s -> next);
                    written.add(null); // marks the previous entry as acknowledged
                }
            };
            forEveryCrash(base, updates, ArrayList::new, seed, (image, written) -> {
                Superblock found = SuperblockPair.read(image);
                int lastAcked = lastAcknowledged(written);
                int index = written.indexOf(found);
                assertTrue(index >= lastAcked, "found " + found.sequence()
                        + ", which is older than the acknowledged update " + lastAcked);
                Metadata.open(image, layout, "alpha");
            });
        }
    }

    @Test
    void dirtyMarksSurviveACrashAtEveryWrite() throws Exception {
        MetadataLayout layout = MetadataCrashTest.layout();
        CrashingMetaDevice base = MetadataTest.smallDevice(layout);
        for (long seed = 0; seed < SEEDS; seed++) {
            long scenarioSeed = seed;
            forEveryCrash(base, (device, required) -> writes(device, layout, scenarioSeed,
                    required), BitSet::new, seed, (image, required) -> {
                        Metadata reopened = Metadata.open(image, layout, "alpha");
                        assertCovers(reopened.bitmap(), required);
                    });
        }
    }

    @Test
    void aCrashDuringRecoveryIsRecoveredToo() throws Exception {
        MetadataLayout layout = MetadataCrashTest.layout();
        CrashingMetaDevice base = MetadataTest.smallDevice(layout);
        for (long seed = 0; seed < 3; seed++) {
            long scenarioSeed = seed;
            forEveryCrash(base, (device, required) -> writes(device, layout, scenarioSeed,
                    required), BitSet::new, seed, (image, required) -> {
                        Scenario<BitSet> recovery = (device, unused) -> Metadata.open(device,
                                layout, "alpha");
                        forEveryCrash(image, recovery, BitSet::new, scenarioSeed,
                                (second, unused) -> assertCovers(
                                        Metadata.open(second, layout, "alpha").bitmap(),
                                        required));
                    });
        }
    }

    /**
     * Random writes with up to two in flight, resync clearing, explicit persists, superblock
     * updates and clean stops. {@code required} collects the blocks whose dirty mark was in place
     * when their write was acknowledged, minus blocks a resync cleared afterwards.
     */
    private static void writes(CrashingMetaDevice device, MetadataLayout layout, long seed,
                               BitSet required) throws Exception {
        Random random = new Random(seed);
        Metadata md = Metadata.open(device, layout, "alpha");
        Deque<long[]> inFlight = new ArrayDeque<>();
        for (int op = 0; op < OPERATIONS; op++) {
            int choice = random.nextInt(20);
            if (choice < 12) {
                long offset = (long) (random.nextDouble() * (layout.dataBytes() - 1));
                long length = 1 + Math.min(layout.dataBytes() - offset - 1,
                        random.nextInt(2 << 20));
                if (inFlight.size() >= 2 || !md.beginWrite(offset, length)) {
                    completeAll(md, inFlight, required);
                    assertTrue(md.beginWrite(offset, length), "admitted once nothing is in flight");
                }
                inFlight.add(new long[] {offset, length});
                if (random.nextBoolean()) {
                    complete(md, inFlight.poll(), required);
                }
            } else if (choice < 15) {
                long offset = (long) (random.nextDouble() * (layout.dataBytes() - 1));
                long length = Math.min(layout.dataBytes() - offset, random.nextInt(8 << 20));
                md.bitmap().markClean(offset, length);
                long first = (offset + 4095) / 4096;
                long end = (offset + length) / 4096;
                if (first < end) {
                    required.clear((int) first, (int) end);
                }
            } else if (choice < 17) {
                md.persistBitmap();
            } else if (choice < 19) {
                md.updateSuperblock(s -> s.withUuids(s.uuids().newCurrent(random)));
            } else {
                completeAll(md, inFlight, required);
                md.closeClean();
                md = Metadata.open(device, layout, "alpha");
            }
        }
    }

    /**
     * A write finished without the peer: its blocks are marked while its extent is still held,
     * then the extent is released, then the write is acknowledged.
     */
    private static void complete(Metadata md, long[] write, BitSet required) {
        md.bitmap().markDirty(write[0], write[1]);
        md.endWrite(write[0], write[1]);
        required.set((int) (write[0] / 4096), (int) ((write[0] + write[1] + 4095) / 4096));
    }

    private static void completeAll(Metadata md, Deque<long[]> inFlight, BitSet required) {
        for (int i = 0; i < 2 && !inFlight.isEmpty(); i++) {
            complete(md, inFlight.poll(), required);
        }
    }

    private interface Check<M> {
        void verify(CrashingMetaDevice image, M model) throws Exception;
    }

    /**
     * Runs {@code scenario} once to count its writes, then again with a crash armed at each
     * write, and checks every crash image each {@link CrashingMetaDevice.Mode} can leave.
     */
    private static <M> void forEveryCrash(CrashingMetaDevice base, Scenario<M> scenario,
                                          java.util.function.Supplier<M> models, long seed,
                                          Check<M> check) throws Exception {
        CrashingMetaDevice counting = base.copyFlushed();
        scenario.run(counting, models.get());
        long total = counting.writes();
        Random random = new Random(seed * 7919 + total);
        for (long crashAt = 0; crashAt <= total; crashAt++) {
            for (CrashingMetaDevice.Mode mode : CrashingMetaDevice.Mode.values()) {
                CrashingMetaDevice device = base.copyFlushed().crashAfter(crashAt);
                M model = models.get();
                try {
                    scenario.run(device, model);
                } catch (IOException e) {
                    if (!device.crashed()) {
                        throw e;
                    }
                }
                CrashingMetaDevice image = device.afterCrash(mode, random);
                try {
                    check.verify(image, model);
                } catch (AssertionError | MetadataException e) {
                    fail("seed " + seed + ", crash at write " + crashAt + " of " + total + ", "
                            + mode + ": " + e.getMessage(), e);
                }
            }
        }
    }

    private static void assertCovers(DirtyBitmap bitmap, BitSet required) {
        for (int block = required.nextSetBit(0); block >= 0;
             block = required.nextSetBit(block + 1)) {
            assertTrue(bitmap.isDirty(block), "acknowledged dirty block " + block + " was lost");
        }
    }

    private static int lastAcknowledged(List<Superblock> written) {
        int last = 0;
        for (int i = 1; i < written.size(); i++) {
            if (written.get(i) == null) {
                last = i - 1;
            }
        }
        return last;
    }

    private static MetadataLayout layout() {
        return MetadataTest.smallLayout();
    }

    @Test
    void theDoubleReallyLosesAndTearsVolatileWrites() throws Exception {
        CrashingMetaDevice device = new CrashingMetaDevice(4);
        byte[] ones = new byte[MetaDevice.BLOCK_BYTES];
        java.util.Arrays.fill(ones, (byte) 1);
        device.write(0, ones);
        device.flush();
        device.crashAfter(1);
        device.write(1, ones);
        byte[] twos = new byte[MetaDevice.BLOCK_BYTES];
        java.util.Arrays.fill(twos, (byte) 2);
        try {
            device.write(0, twos);
            fail("the armed crash did not fire");
        } catch (IOException expected) {
            assertTrue(device.crashed());
        }
        CrashingMetaDevice torn = device.afterCrash(CrashingMetaDevice.Mode.TORN_HALF,
                new Random(1));
        assertEquals(2, torn.current(0)[0]);
        assertEquals(1, torn.current(0)[MetaDevice.BLOCK_BYTES - 1]);
        assertEquals(1, torn.current(1)[0]);
        CrashingMetaDevice cut = device.afterCrash(CrashingMetaDevice.Mode.CLEAN_CUT,
                new Random(1));
        assertEquals(1, cut.current(0)[0]);
    }
}
