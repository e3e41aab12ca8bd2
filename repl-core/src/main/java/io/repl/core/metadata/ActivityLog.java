package io.repl.core.metadata;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

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
 * <p>At most one transaction is outstanding at a time. A transaction may make several extents hot
 * at once (the one a write asked for, and those of the writes queued behind it) and evict as many.
 * Extents are chosen for eviction in least recently used order among those without writes in
 * flight whose last write a data flush has covered: an extent leaves the log only once its blocks
 * can no longer be lost from the disk's volatile cache.
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
    /** The extents the outstanding transaction evicts, as they were, for {@link #abort}. */
    private List<Map.Entry<Long, Extent>> pendingEvicted = List.of();
    private long lastCommitted;
    /**
     * Writes that found their extent cold and needed a transaction first (activity log misses),
     * for metrics: written by the core's single thread, read by others without a lock.
     */
    private volatile long misses;
    /** Transactions written since this log was opened, for metrics (as {@link #misses}). */
    private volatile long transactions;

    /** No extents besides the one asked for. */
    private static final Supplier<long[]> NONE = () -> new long[0];
    /** The most extents one transaction makes hot for the writes queued behind the one asking. */
    public static final int ALSO_HOT_MAX = 64;

    /** State of one hot extent. */
    private static final class Extent {
        private int writesInFlight;
        private boolean durable;
        /**
         * The caller's count of completed data writes when a write in this extent last ended
         * ({@link #release(long, long)}): once a flush covers that many, its blocks are durable.
         */
        private long stamp;
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
     * Admits one write to {@code extent}, free to evict any idle extent (no flush is awaited);
     * for tools and tests. See {@link #ensureActive(long, Supplier, long)}.
     */
    public AlAdmission ensureActive(long extent) {
        return ensureActive(extent, NONE, Long.MAX_VALUE);
    }

    /**
     * Admits one write to {@code extent}. READY and WRITE_TRANSACTION take a reference that
     * {@link #release(long, long)} gives back when the write completes; the WAIT kinds take nothing.
     *
     * <p>A transaction made here also makes hot, without a reference, the cold extents of
     * {@code alsoHot} (asked only when a transaction is made; at most {@link #ALSO_HOT_MAX}, and
     * only as far as room allows), so that the writes queued behind this one find them hot.
     *
     * @param flushedThrough how many completed data writes a successful flush has covered: an
     *     idle extent whose stamp is larger may not be evicted yet (its blocks may still be in the
     *     disk's cache). When such extents are all that could make room, the answer is
     *     WAIT_FOR_FLUSH.
     */
    public AlAdmission ensureActive(long extent, Supplier<long[]> alsoHot, long flushedThrough) {
        checkExtent(extent);
        Extent state = hot.get(extent);
        if (state != null && state.durable) {
            state.writesInFlight++;
            return AlAdmission.READY_ADMISSION;
        }
        if (pending != null) {
            return AlAdmission.WAIT_TRANSACTION;
        }
        Victims victims = new Victims(flushedThrough);
        if (hot.size() >= activeMax && !victims.take()) {
            return victims.unflushed ? AlAdmission.WAIT_FLUSH : AlAdmission.WAIT_WRITES;
        }
        Extent added = new Extent();
        added.writesInFlight = 1;
        hot.put(extent, added);
        long[] addedExtents = new long[1 + ALSO_HOT_MAX];
        addedExtents[0] = extent;
        int addedCount = 1;
        for (long also : alsoHot.get()) {
            if (addedCount == addedExtents.length) {
                break;
            }
            checkExtent(also);
            if (hot.containsKey(also)) {
                continue;
            }
            if (hot.size() >= activeMax && !victims.take()) {
                break;
            }
            hot.put(also, new Extent());
            addedExtents[addedCount++] = also;
        }
        pendingEvicted = victims.taken;
        long[] evicted = new long[victims.taken.size()];
        for (int i = 0; i < evicted.length; i++) {
            evicted[i] = victims.taken.get(i).getKey();
        }
        pending = newTransaction(Arrays.copyOf(addedExtents, addedCount), evicted);
        misses += addedCount;
        return new AlAdmission(AlAdmission.Kind.WRITE_TRANSACTION, pending);
    }

    /**
     * Chooses eviction victims for one transaction, least recently used first: idle, durable,
     * and covered by a flush. One pass over the hot set serves every victim of the transaction.
     */
    private final class Victims {
        private final long flushedThrough;
        private Iterator<Map.Entry<Long, Extent>> candidates;
        private final List<Map.Entry<Long, Extent>> taken = new ArrayList<>(2);
        /** An idle extent was passed over because no flush covers its last write yet. */
        private boolean unflushed;

        Victims(long flushedThrough) {
            this.flushedThrough = flushedThrough;
        }

        /** Evicts the next victim from the hot set; false when there is none. */
        boolean take() {
            if (candidates == null) {
                // A copy, made once the log is full: the hot set changes as victims are taken.
                candidates = new ArrayList<>(hot.entrySet()).iterator();
            }
            while (candidates.hasNext()) {
                Map.Entry<Long, Extent> entry = candidates.next();
                Extent e = entry.getValue();
                if (!e.durable || e.writesInFlight != 0) {
                    continue;
                }
                if (e.stamp > flushedThrough) {
                    unflushed = true;
                    continue;
                }
                hot.remove(entry.getKey());
                taken.add(Map.entry(entry.getKey(), e));
                return true;
            }
            return false;
        }
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
        pendingEvicted = List.of();
        pending = newTransaction(new long[0], evicted);
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
        resized.transactions = transactions;
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

    /**
     * Extents made hot by transactions since this log was opened: each one a write found cold
     * (itself, or one queued behind it that the same transaction served).
     */
    public long misses() {
        return misses;
    }

    /** Transactions written since this log was opened (several misses may share one). */
    public long transactions() {
        return transactions;
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
        return new AlTransaction(lastCommitted, MetadataLayout.AL_OFFSET_BLOCKS + slot, new long[0], new long[0],
                extents, metaId);
    }

    /** The outstanding transaction is durable: its extents become usable by every writer. */
    public void commit(AlTransaction transaction) {
        Checks.state(pending != null && pending == transaction,
                "commit of a transaction that is not the outstanding one");
        for (long added : transaction.addedExtents()) {
            hot.get(added).durable = true;
        }
        lastCommitted = transaction.number();
        transactions++;
        pending = null;
        pendingEvicted = List.of();
    }

    /**
     * The outstanding transaction could not be written: undo it. The write that asked for it is
     * not admitted (its reference is dropped), the extents it added leave, and evicted extents
     * become hot again as they were.
     */
    public void abort(AlTransaction transaction) {
        Checks.state(pending != null && pending == transaction,
                "abort of a transaction that is not the outstanding one");
        for (long added : transaction.addedExtents()) {
            hot.remove(added);
        }
        for (Map.Entry<Long, Extent> evicted : pendingEvicted) {
            hot.put(evicted.getKey(), evicted.getValue());
        }
        pending = null;
        pendingEvicted = List.of();
    }

    /**
     * A write admitted to {@code extent} completed, with no count of completed writes: the
     * extent may be evicted only by {@link #ensureActive(long)}, which awaits no flush.
     */
    public void release(long extent) {
        release(extent, Long.MAX_VALUE);
    }

    /**
     * A write admitted to {@code extent} completed; {@code stamp} is the caller's count of
     * completed data writes, this one included (see {@link #ensureActive(long, Supplier, long)}).
     */
    public void release(long extent, long stamp) {
        checkExtent(extent);
        Extent state = hot.get(extent);
        if (state == null || state.writesInFlight <= 0) {
            // Tested first: this runs for every write, and the message is rarely needed.
            Checks.state(false, "release of extent " + extent + " which has no write in flight");
        }
        state.writesInFlight--;
        if (stamp > state.stamp) {
            state.stamp = stamp;
        }
    }

    /** Whether a write to {@code extent} would be admitted without a transaction. */
    public boolean isActive(long extent) {
        Extent state = hot.get(extent);
        return state != null && state.durable;
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

    private AlTransaction newTransaction(long[] added, long[] evicted) {
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

    private void checkExtent(long extent) {
        if (extent < 0 || extent >= extentCount) {
            Checks.argument(false, "extent " + extent + " is outside 0.." + (extentCount - 1));
        }
    }
}
