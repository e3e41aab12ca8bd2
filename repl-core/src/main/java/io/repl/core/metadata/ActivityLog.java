package io.repl.core.metadata;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The activity log: which extents of the data may have writes in flight, made durable before any
 * such write is submitted, so that after a Primary crash exactly those extents are resynced.
 *
 * <p>This class decides and encodes; it never does I/O on its own except {@link #replay}. The
 * caller (the replication core) writes the blocks it produces, which keeps it usable from the
 * sans-I/O core and from the simulator alike.
 *
 * <p>Invariant the caller keeps together with {@link DirtyBitmap}: every dirty bit that is only in
 * memory lies in an extent that is durably hot. That is why an evicted extent's bitmap pages must
 * be written before the transaction that drops it.
 *
 * <p>At most one transaction is outstanding at a time; extents are chosen for eviction in least
 * recently used order among those without writes in flight.
 */
public final class ActivityLog {

    private final long metaId;
    private final int ringBlocks;
    private final int extentBytes;
    private final int activeMax;
    private final long extentCount;
    private final long dataBytes;
    /** Hot extents in access order, least recently used first. */
    private final LinkedHashMap<Long, Extent> hot;
    private AlTransaction pending;
    private long lastCommitted;
    /**
     * Writes that found their extent cold and needed a transaction first (activity log misses),
     * for metrics: written by the core's single thread, read by others without a lock.
     */
    private volatile long misses;

    /** State of one hot extent. */
    private static final class Extent {
        private int writesInFlight;
        private boolean durable;
    }

    /**
     * The extents recorded in the newest valid transaction on disk.
     *
     * @param lastTransaction its number, 0 when the ring holds no transaction of this metadata
     * @param extents the hot extents it recorded, ascending
     */
    public record Replay(long lastTransaction, long[] extents) {
        public Replay {
            extents = extents.clone();
        }

        @Override
        public long[] extents() {
            return extents.clone();
        }
    }

    private ActivityLog(Superblock superblock, long lastCommitted) {
        this.metaId = superblock.metaId();
        this.ringBlocks = superblock.layout().alRingBlocks();
        this.extentBytes = superblock.alExtentBytes();
        this.activeMax = superblock.alActiveMax();
        this.extentCount = superblock.alExtentCount();
        this.dataBytes = superblock.layout().dataBytes();
        this.hot = new LinkedHashMap<>(activeMax * 2, 0.75f, true);
        this.lastCommitted = lastCommitted;
    }

    /**
     * An activity log with nothing hot, continuing after transaction {@code lastTransaction}
     * (from {@link #replay}). The extents the replay found must already be dirty in the bitmap,
     * and those bitmap pages durable, since the next transaction forgets them.
     */
    public static ActivityLog resume(Superblock superblock, long lastTransaction) {
        Checks.argument(lastTransaction >= 0, "last transaction " + lastTransaction
                + " is negative");
        return new ActivityLog(superblock, lastTransaction);
    }

    /** Reads the whole ring and returns the newest valid transaction's hot set. */
    public static Replay replay(MetaDevice device, Superblock superblock)
            throws IOException, MetadataException {
        int ring = superblock.layout().alRingBlocks();
        byte[] block = new byte[MetaDevice.BLOCK_BYTES];
        AlTransaction.Decoded newest = null;
        for (int slot = 0; slot < ring; slot++) {
            device.read(MetadataLayout.AL_OFFSET_BLOCKS + slot, block);
            AlTransaction.Decoded decoded = AlTransaction.decode(block, superblock.metaId(),
                    superblock.alExtentCount(), ring, slot);
            if (decoded != null && (newest == null || decoded.number() > newest.number())) {
                newest = decoded;
            }
        }
        return newest == null ? new Replay(0, new long[0])
                : new Replay(newest.number(), newest.extents());
    }

    /**
     * Admits one write to {@code extent}. READY and WRITE_TRANSACTION take a reference that
     * {@link #release(long)} gives back when the write completes; the WAIT kinds take nothing.
     */
    public AlAdmission ensureActive(long extent) {
        checkExtent(extent);
        Extent state = hot.get(extent);
        if (state != null && state.durable) {
            state.writesInFlight++;
            return AlAdmission.READY_ADMISSION;
        }
        if (pending != null) {
            return AlAdmission.WAIT_TRANSACTION;
        }
        long victim = -1;
        if (hot.size() >= activeMax) {
            victim = leastRecentlyUsedIdle();
            if (victim < 0) {
                return AlAdmission.WAIT_WRITES;
            }
            hot.remove(victim);
        }
        Extent added = new Extent();
        added.writesInFlight = 1;
        hot.put(extent, added);
        long[] evicted = victim < 0 ? new long[0] : new long[] {victim};
        pending = newTransaction(extent, evicted);
        misses++;
        return new AlAdmission(AlAdmission.Kind.WRITE_TRANSACTION, pending);
    }

    /**
     * Produces the transaction that drops every hot extent, for a clean stop or demotion. No
     * write may be in flight. Returns null when nothing is hot.
     */
    public AlTransaction deactivateAll() {
        Checks.state(pending == null, "an activity log transaction is still outstanding");
        if (hot.isEmpty()) {
            return null;
        }
        long[] evicted = new long[hot.size()];
        int index = 0;
        for (Map.Entry<Long, Extent> entry : hot.entrySet()) {
            Checks.state(entry.getValue().writesInFlight == 0, "extent " + entry.getKey()
                    + " still has " + entry.getValue().writesInFlight + " writes in flight");
            evicted[index++] = entry.getKey();
        }
        hot.clear();
        pending = newTransaction(-1, evicted);
        return pending;
    }

    /**
     * This log for the metadata of another data size (an online resize): the same hot extents
     * with the same writes in flight, continuing after the same transaction. An extent past a
     * smaller new end is dropped; it must have no write in flight.
     */
    public ActivityLog resizedTo(Superblock target) {
        Checks.state(pending == null, "an activity log transaction is still outstanding");
        Checks.argument(target.metaId() == metaId && target.alExtentBytes() == extentBytes
                && target.layout().alRingBlocks() == ringBlocks, "a resize keeps the activity log's geometry");
        ActivityLog resized = new ActivityLog(target, lastCommitted);
        resized.misses = misses;
        for (Map.Entry<Long, Extent> entry : hot.entrySet()) {
            if (entry.getKey() < resized.extentCount) {
                resized.hot.put(entry.getKey(), entry.getValue());
            } else {
                Checks.state(entry.getValue().writesInFlight == 0, "extent " + entry.getKey()
                        + " past the new end still has writes in flight");
            }
        }
        return resized;
    }

    /** Writes that had to wait for a transaction making their extent hot, since this log was opened. */
    public long misses() {
        return misses;
    }

    /** Whether a write is in flight in an extent at or past {@code extent}. */
    public boolean writesInFlightFrom(long extent) {
        for (Map.Entry<Long, Extent> entry : hot.entrySet()) {
            if (entry.getKey() >= extent && entry.getValue().writesInFlight > 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * The hot set as the block of the last committed transaction (same number, same slot), for a
     * new ring written by a resize; null when no transaction was ever committed.
     */
    AlTransaction snapshot() {
        Checks.state(pending == null, "an activity log transaction is still outstanding");
        if (lastCommitted == 0) {
            return null;
        }
        long[] extents = new long[hot.size()];
        int index = 0;
        for (Long extent : hot.keySet()) {
            extents[index++] = extent;
        }
        long slot = Long.remainderUnsigned(lastCommitted, ringBlocks);
        return new AlTransaction(lastCommitted, MetadataLayout.AL_OFFSET_BLOCKS + slot, -1, new long[0],
                extents, metaId);
    }

    /** The outstanding transaction is durable: its extent becomes usable by every writer. */
    public void commit(AlTransaction transaction) {
        Checks.state(pending != null && pending == transaction,
                "commit of a transaction that is not the outstanding one");
        if (transaction.addedExtent() >= 0) {
            hot.get(transaction.addedExtent()).durable = true;
        }
        lastCommitted = transaction.number();
        pending = null;
    }

    /**
     * The outstanding transaction could not be written: undo it. The write that asked for it is
     * not admitted (its reference is dropped) and evicted extents become hot again.
     */
    public void abort(AlTransaction transaction) {
        Checks.state(pending != null && pending == transaction,
                "abort of a transaction that is not the outstanding one");
        if (transaction.addedExtent() >= 0) {
            hot.remove(transaction.addedExtent());
        }
        for (long extent : transaction.evictedExtents()) {
            Extent restored = new Extent();
            restored.durable = true;
            hot.put(extent, restored);
        }
        pending = null;
    }

    /** A write admitted to {@code extent} completed. */
    public void release(long extent) {
        checkExtent(extent);
        Extent state = hot.get(extent);
        if (state == null || state.writesInFlight <= 0) {
            // Tested first: this runs for every write, and the message is rarely needed.
            Checks.state(false, "release of extent " + extent + " which has no write in flight");
        }
        state.writesInFlight--;
    }

    /** The extent holding data byte {@code offset}. */
    public long extentOf(long offset) {
        if (offset < 0 || offset >= dataBytes) {
            // Tested first: this runs for every write, and the message is rarely needed.
            Checks.argument(false, "offset " + offset + " is outside the data (0.." + dataBytes + ")");
        }
        return offset / extentBytes;
    }

    /** Data bytes per extent. */
    public int extentBytes() {
        return extentBytes;
    }

    /** Extents currently hot or being made hot, least recently used first. */
    public List<Long> hotExtents() {
        return new ArrayList<>(hot.keySet());
    }

    /** Number of the last committed transaction. */
    public long lastCommitted() {
        return lastCommitted;
    }

    /** Whether a transaction is outstanding. */
    public boolean hasPending() {
        return pending != null;
    }

    private AlTransaction newTransaction(long added, long[] evicted) {
        long[] extents = new long[hot.size()];
        int index = 0;
        for (Long extent : hot.keySet()) {
            extents[index++] = extent;
        }
        long number = lastCommitted + 1;
        long slot = Long.remainderUnsigned(number, ringBlocks);
        return new AlTransaction(number, MetadataLayout.AL_OFFSET_BLOCKS + slot, added, evicted,
                extents, metaId);
    }

    /** The least recently used extent without writes in flight, or -1. */
    private long leastRecentlyUsedIdle() {
        Iterator<Map.Entry<Long, Extent>> entries = hot.entrySet().iterator();
        for (int step = 0; step < activeMax && entries.hasNext(); step++) {
            Map.Entry<Long, Extent> entry = entries.next();
            if (entry.getValue().durable && entry.getValue().writesInFlight == 0) {
                return entry.getKey();
            }
        }
        return -1;
    }

    private void checkExtent(long extent) {
        if (extent < 0 || extent >= extentCount) {
            Checks.argument(false, "extent " + extent + " is outside 0.." + (extentCount - 1));
        }
    }
}
