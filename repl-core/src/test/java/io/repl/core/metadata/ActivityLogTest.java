package io.repl.core.metadata;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

class ActivityLogTest {

    /** 64 MiB of data, 1 MiB extents, at most 3 hot, a ring of 4 blocks. */
    private static Superblock superblock() {
        MetadataLayout layout = MetadataLayout.forData(MetaPlacement.EXTERNAL, 64L << 20, 4);
        return Superblock.fresh(layout, 77, 0, "alpha").withActivityLog(1 << 20, 3);
    }

    private static AlTransaction admitNew(ActivityLog log, long extent) {
        AlAdmission admission = log.ensureActive(extent);
        assertEquals(AlAdmission.Kind.WRITE_TRANSACTION, admission.kind());
        return admission.transaction();
    }

    @Test
    void aColdExtentNeedsATransactionAHotOneDoesNot() {
        ActivityLog log = ActivityLog.resume(superblock(), 0);
        AlTransaction first = admitNew(log, 5);
        assertEquals(1, first.number());
        assertEquals(MetadataLayout.AL_OFFSET_BLOCKS + 1, first.blockIndex());
        assertArrayEquals(new long[] {5}, first.extents());
        assertEquals(AlAdmission.Kind.WAIT_FOR_TRANSACTION, log.ensureActive(5).kind(),
                "not durable yet");
        assertEquals(AlAdmission.Kind.WAIT_FOR_TRANSACTION, log.ensureActive(6).kind(),
                "one transaction at a time");
        log.commit(first);
        assertEquals(AlAdmission.Kind.READY, log.ensureActive(5).kind());
        log.release(5);
        log.release(5);
        assertThrows(IllegalStateException.class, () -> log.release(5));
    }

    @Test
    void evictsTheLeastRecentlyUsedIdleExtentAndNeverOneWithWritesInFlight() {
        ActivityLog log = ActivityLog.resume(superblock(), 10);
        for (long extent : new long[] {1, 2, 3}) {
            AlTransaction transaction = admitNew(log, extent);
            assertEquals(0, transaction.evictedExtents().length);
            log.commit(transaction);
        }
        assertEquals(13, log.lastCommitted());
        log.release(2);
        log.release(3);
        // Extent 1 is least recently used but busy; 2 is the oldest idle one.
        AlTransaction fourth = admitNew(log, 4);
        assertArrayEquals(new long[] {2}, fourth.evictedExtents());
        assertArrayEquals(new long[] {1, 3, 4}, fourth.extents());
        log.commit(fourth);
        assertEquals(List.of(1L, 3L, 4L), log.hotExtents());

        assertEquals(AlAdmission.Kind.READY, log.ensureActive(3).kind());
        assertEquals(AlAdmission.Kind.WAIT_FOR_WRITES, log.ensureActive(9).kind(),
                "1, 3 and 4 all have writes in flight");
        log.release(4);
        assertArrayEquals(new long[] {4}, admitNew(log, 9).evictedExtents());
    }

    @Test
    void abortRestoresTheEvictedExtentAndDropsTheNewOne() {
        ActivityLog log = ActivityLog.resume(superblock(), 0);
        for (long extent : new long[] {1, 2, 3}) {
            log.commit(admitNew(log, extent));
            log.release(extent);
        }
        AlTransaction failed = admitNew(log, 8);
        log.abort(failed);
        assertEquals(3, log.lastCommitted());
        assertEquals(List.of(2L, 3L, 1L), log.hotExtents());
        assertEquals(AlAdmission.Kind.READY, log.ensureActive(1).kind());
        assertThrows(IllegalStateException.class, () -> log.commit(failed));
    }

    @Test
    void oneTransactionAlsoMakesHotTheExtentsOfTheWritesBehindAsFarAsRoomAllows() {
        ActivityLog log = ActivityLog.resume(superblock(), 0);
        for (long extent : new long[] {1, 2}) {
            log.commit(admitNew(log, extent));
        }
        log.release(1, 5);
        // Room for one more, and extent 1 is idle and flushed: 7 and 8 fit, 9 does not (2 is busy).
        AlAdmission admission = log.ensureActive(6, () -> new long[] {6, 2, 7, 8, 9}, 5);
        assertEquals(AlAdmission.Kind.WRITE_TRANSACTION, admission.kind());
        AlTransaction batch = admission.transaction();
        assertArrayEquals(new long[] {6, 7}, batch.addedExtents(),
                "6 takes the free slot, 7 the one extent 1 leaves; then nothing is idle");
        assertArrayEquals(new long[] {1}, batch.evictedExtents());
        assertArrayEquals(new long[] {2, 6, 7}, batch.extents());
        log.commit(batch);
        assertEquals(3, log.transactions());
        assertEquals(4, log.misses(), "1 and 2 before, then 6 and 7 in one transaction: counted per extent");
        assertEquals(AlAdmission.Kind.READY, log.ensureActive(7).kind(), "made hot for the write behind");
        log.release(7, 9);
        assertThrows(IllegalStateException.class, () -> log.release(7, 9),
                "an extent made hot for the writes behind holds no reference of its own");
    }

    @Test
    void anExtentLeavesOnlyOnceAFlushCoveredItsLastWrite() {
        ActivityLog log = ActivityLog.resume(superblock(), 0);
        for (long extent : new long[] {1, 2, 3}) {
            log.commit(admitNew(log, extent));
        }
        log.release(1, 10);
        log.release(2, 4);
        // 1 is least recently used but its last write (the 10th) is not flushed; 2's is.
        AlTransaction evicting = log.ensureActive(5, () -> new long[0], 6).transaction();
        assertArrayEquals(new long[] {2}, evicting.evictedExtents());
        log.abort(evicting);
        assertEquals(AlAdmission.Kind.WAIT_FOR_FLUSH,
                log.ensureActive(5, () -> new long[0], 3).kind(),
                "after the abort 2 is back with its stamp; nothing idle is flushed through 3");
        log.release(3, 2);
        AlTransaction flushed = log.ensureActive(5, () -> new long[0], 10).transaction();
        assertArrayEquals(new long[] {1}, flushed.evictedExtents(), "now the least recently used one goes");
        log.commit(flushed);
        assertEquals(List.of(2L, 3L, 5L), log.hotExtents());
    }

    @Test
    void deactivateAllDropsEverythingButOnlyWhenIdle() {
        ActivityLog log = ActivityLog.resume(superblock(), 0);
        assertNull(log.deactivateAll());
        log.commit(admitNew(log, 1));
        assertThrows(IllegalStateException.class, log::deactivateAll);
        log.release(1);
        AlTransaction emptying = log.deactivateAll();
        assertArrayEquals(new long[0], emptying.extents());
        assertArrayEquals(new long[] {1}, emptying.evictedExtents());
        assertArrayEquals(new long[0], emptying.addedExtents());
        log.commit(emptying);
        assertTrue(log.hotExtents().isEmpty());
    }

    @Test
    void replayFindsTheNewestValidTransactionAndSkipsATornOne() throws Exception {
        Superblock superblock = superblock();
        CrashingMetaDevice device = new CrashingMetaDevice(superblock.layout().areaBlocks());
        assertEquals(0, ActivityLog.replay(device, superblock).lastTransaction());
        ActivityLog log = ActivityLog.resume(superblock, 0);
        AlTransaction last = null;
        for (long extent = 0; extent < 9; extent++) {
            last = admitNew(log, extent);
            device.write(last.blockIndex(), last.block());
            device.flush();
            log.commit(last);
            log.release(extent);
        }
        ActivityLog.Replay replay = ActivityLog.replay(device, superblock);
        assertEquals(9, replay.lastTransaction());
        assertArrayEquals(new long[] {6, 7, 8}, replay.extents());

        byte[] torn = last.block();
        torn[40] ^= 1;
        device.poke(last.blockIndex(), torn);
        replay = ActivityLog.replay(device, superblock);
        assertEquals(8, replay.lastTransaction());
        assertArrayEquals(new long[] {5, 6, 7}, replay.extents());
    }

    @Test
    void blocksOfAnotherMetadataAreIgnoredButImpossibleOnesAreErrors() throws Exception {
        Superblock superblock = superblock();
        CrashingMetaDevice device = new CrashingMetaDevice(superblock.layout().areaBlocks());
        device.poke(MetadataLayout.AL_OFFSET_BLOCKS + 1,
                AlTransaction.encode(superblock.metaId() + 1, 5, new long[] {1}));
        assertEquals(0, ActivityLog.replay(device, superblock).lastTransaction());

        device.poke(MetadataLayout.AL_OFFSET_BLOCKS + 2,
                AlTransaction.encode(superblock.metaId(), 5, new long[] {1}));
        assertEquals("activity log slot 2: transaction number 5 does not belong in this slot "
                + "of a 4-block ring", replayError(device, superblock));

        device.poke(MetadataLayout.AL_OFFSET_BLOCKS + 2,
                AlTransaction.encode(superblock.metaId(), 6, new long[] {3, 64}));
        assertEquals("activity log slot 2: extent 64 at index 1 must be ascending and below 64",
                replayError(device, superblock));

        byte[] block = AlTransaction.encode(superblock.metaId(), 6, new long[] {3});
        ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(AlTransaction.COUNT_OFFSET, 5000);
        BlockChecksum.seal(block);
        device.poke(MetadataLayout.AL_OFFSET_BLOCKS + 2, block);
        assertEquals("activity log slot 2: extent count 5000 must be in 0.."
                + AlTransaction.EXTENTS_MAX, replayError(device, superblock));
    }

    @Test
    void extentsAreChecked() {
        ActivityLog log = ActivityLog.resume(superblock(), 0);
        assertThrows(IllegalArgumentException.class, () -> log.ensureActive(64));
        assertThrows(IllegalArgumentException.class, () -> log.ensureActive(-1));
        assertEquals(63, log.extentOf((64L << 20) - 1));
        assertThrows(IllegalArgumentException.class, () -> log.extentOf(64L << 20));
    }

    private static String replayError(CrashingMetaDevice device, Superblock superblock) {
        return assertThrows(MetadataException.class,
                () -> ActivityLog.replay(device, superblock)).getMessage();
    }
}
