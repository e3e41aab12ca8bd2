package io.repl.core.metadata;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
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
    /** The hot extents' numbers, ascending (the first {@link #sortedCount}): what a transaction records. */
    private long[] sorted = new long[64];
    private int sortedCount;
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
        int room = activeMax - hot.size();
        List<Map.Entry<Long, Extent>> victims = room > 0 ? List.of()
                : victims(1 + ALSO_HOT_MAX, flushedThrough);
        if (room <= 0 && victims.isEmpty()) {
            return idleUnflushed(flushedThrough) ? AlAdmission.WAIT_FLUSH : AlAdmission.WAIT_WRITES;
        }
        long[] also = coldExtents(extent, alsoHot.get());
        int free = Math.max(room, 0);
        int wanted = 1 + also.length;
        if (free > 0 && wanted > free) {
            // Free slots first; the rest of the extents behind take idle ones.
            victims = victims(wanted - free, flushedThrough);
        }
        int adding = Math.min(wanted, free + victims.size());
        List<Map.Entry<Long, Extent>> evicting = victims.subList(0, adding - Math.min(adding, free));
        long[] evicted = new long[evicting.size()];
        for (int i = 0; i < evicted.length; i++) {
            evicted[i] = evicting.get(i).getKey();
            makeCold(evicted[i]);
        }
        Extent added = new Extent();
        added.writesInFlight = 1;
        makeHot(extent, added);
        long[] addedExtents = new long[adding];
        addedExtents[0] = extent;
        for (int i = 1; i < adding; i++) {
            addedExtents[i] = also[i - 1];
            makeHot(also[i - 1], new Extent());
        }
        pendingEvicted = List.copyOf(evicting);
        pending = newTransaction(addedExtents, evicted);
        misses += adding;
        return new AlAdmission(AlAdmission.Kind.WRITE_TRANSACTION, pending);
    }

    /**
     * Up to {@code max} eviction victims, least recently used first: idle, durable, and covered
     * by a flush. The scan stops once it has them, usually near the least recently used end.
     */
    private List<Map.Entry<Long, Extent>> victims(int max, long flushedThrough) {
        List<Map.Entry<Long, Extent>> found = new ArrayList<>();
        for (Map.Entry<Long, Extent> entry : hot.entrySet()) {
            Extent e = entry.getValue();
            if (e.durable && e.writesInFlight == 0 && e.stamp <= flushedThrough) {
                found.add(Map.entry(entry.getKey(), e));
                if (found.size() == max) {
                    break;
                }
            }
        }
        return found;
    }

    /** Whether some idle extent waits only for a flush to cover its last write. */
    private boolean idleUnflushed(long flushedThrough) {
        for (Extent e : hot.values()) {
            if (e.durable && e.writesInFlight == 0 && e.stamp > flushedThrough) {
                return true;
            }
        }
        return false;
    }

    /** The distinct extents of {@code candidates} that are cold and not {@code asked}, at most {@link #ALSO_HOT_MAX}. */
    private long[] coldExtents(long asked, long[] candidates) {
        long[] cold = new long[Math.min(candidates.length, ALSO_HOT_MAX)];
        int count = 0;
        for (int i = 0; i < candidates.length && count < cold.length; i++) {
            long candidate = candidates[i];
            checkExtent(candidate);
            if (candidate == asked || hot.containsKey(candidate) || contains(cold, count, candidate)) {
                continue;
            }
            cold[count++] = candidate;
        }
        return Arrays.copyOf(cold, count);
    }

    private static boolean contains(long[] values, int count, long value) {
        for (int i = 0; i < count; i++) {
            if (values[i] == value) {
                return true;
            }
        }
        return false;
    }

    /** Adds {@code extent} to the hot set (most recently used) and to its sorted numbers. */
    private void makeHot(long extent, Extent state) {
        hot.put(extent, state);
        int at = Arrays.binarySearch(sorted, 0, sortedCount, extent);
        if (at < 0) {
            at = -at - 1;
            if (sortedCount == sorted.length) {
                sorted = Arrays.copyOf(sorted, Math.max(8, 2 * sorted.length));
            }
            System.arraycopy(sorted, at, sorted, at + 1, sortedCount - at);
            sorted[at] = extent;
            sortedCount++;
        }
    }

    /** Drops {@code extent} from the hot set and from its sorted numbers. */
    private void makeCold(long extent) {
        hot.remove(extent);
        int at = Arrays.binarySearch(sorted, 0, sortedCount, extent);
        if (at >= 0) {
            System.arraycopy(sorted, at + 1, sorted, at, sortedCount - at - 1);
            sortedCount--;
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
        sortedCount = 0;
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
                resized.makeHot(entry.getKey(), entry.getValue());
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
        long[] extents = Arrays.copyOf(sorted, sortedCount);
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
            makeCold(added);
        }
        for (Map.Entry<Long, Extent> evicted : pendingEvicted) {
            makeHot(evicted.getKey(), evicted.getValue());
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
        long[] extents = Arrays.copyOf(sorted, sortedCount);
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
