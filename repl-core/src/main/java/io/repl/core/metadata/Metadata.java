package io.repl.core.metadata;

import java.io.IOException;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.random.RandomGenerator;

/**
 * One resource's metadata, opened: the superblock, the dirty bitmap and the activity log, with
 * the orderings between their writes that keep every crash recoverable. Synchronous: each method
 * returns when what it wrote is flushed. The sans-I/O core can use the parts directly and issue
 * the same writes itself; this class is the reference for their order.
 *
 * <p>Not thread-safe; one owner drives it.
 */
public final class Metadata {

    private final MetaDevice device;
    private final MetadataLayout layout;
    private final DirtyBitmap bitmap;
    private ActivityLog activityLog;
    private final ActivityLog.Replay replayed;
    private Superblock superblock;

    private Metadata(MetaDevice device, Superblock superblock, DirtyBitmap bitmap,
                     ActivityLog.Replay replayed) {
        this.device = device;
        this.layout = superblock.layout();
        this.superblock = superblock;
        this.bitmap = bitmap;
        this.replayed = replayed;
        this.activityLog = ActivityLog.resume(superblock, replayed.lastTransaction());
    }

    private Metadata(MetaDevice device, Superblock superblock, DirtyBitmap bitmap, ActivityLog carried) {
        this.device = device;
        this.layout = superblock.layout();
        this.superblock = superblock;
        this.bitmap = bitmap;
        this.replayed = new ActivityLog.Replay(carried.lastCommitted(), new long[0]);
        this.activityLog = carried;
    }

    /** Where a resize may find metadata: an area and the layout whose metadata would be there. */
    public record Candidate(MetaDevice device, MetadataLayout layout) {
    }

    /**
     * Opens the newest metadata among {@code candidates}: where the device size says it is and
     * where an interrupted resize may have left it. A candidate whose superblocks are unreadable
     * or describe another geometry is skipped; of the rest, the highest superblock sequence wins
     * (a resize continues the sequence at the new place, so the new copy wins once its
     * superblock is durable, and the old one until then). Returns the index of the winner.
     */
    public static int newest(List<Candidate> candidates) throws IOException, MetadataException {
        int best = -1;
        long bestSequence = 0;
        StringBuilder problems = new StringBuilder();
        for (int i = 0; i < candidates.size(); i++) {
            Candidate c = candidates.get(i);
            if (c.device().blockCount() < c.layout().areaBlocks()) {
                continue;
            }
            try {
                Superblock found = SuperblockPair.read(c.device());
                if (!found.layout().equals(c.layout())) {
                    throw new MetadataException("geometry " + found.layout() + " belongs elsewhere");
                }
                if (found.sequence() > bestSequence) {
                    best = i;
                    bestSequence = found.sequence();
                }
            } catch (MetadataException e) {
                problems.append(problems.length() == 0 ? "" : "; ").append(c.device()).append(": ")
                        .append(e.getMessage());
            }
        }
        if (best < 0) {
            throw new MetadataException(problems.length() == 0 ? "no metadata area fits the device"
                    : problems.toString());
        }
        return best;
    }

    /**
     * Online resize: this metadata, for {@code newLayout}, written to {@code target} and opened
     * there. Nothing of the current area is written, except with {@code sameArea} (external
     * metadata growing in place), where only blocks past the old area and bitmap bits past the
     * old end change before the switch.
     *
     * <p>Crash-safe by its order: the target's superblock slots are emptied first (a stale
     * superblock there can never win), then the activity log (the current hot set, under the
     * last committed number) and every bitmap page are written and flushed, and only then the
     * superblock, whose sequence continues this one's. Until that superblock is durable the old
     * metadata is the newest valid one; from then on the new one is (see {@link #newest}).
     *
     * @param dirty ranges ({@code offset, length} pairs) to mark out of sync in the new bitmap
     * @throws IllegalStateException when a write is in flight past a smaller new end
     */
    public Metadata resize(MetaDevice target, boolean sameArea, MetadataLayout newLayout, long... dirty)
            throws IOException {
        Checks.argument(newLayout.placement() == layout.placement()
                && newLayout.alRingBlocks() == layout.alRingBlocks(), "a resize keeps the placement and the ring");
        Checks.argument(!sameArea || newLayout.dataBytes() >= layout.dataBytes(),
                "metadata shrinks only into another area");
        checkDeviceSize(target, newLayout);
        Superblock next = superblock.withLayout(newLayout);
        ActivityLog carried = activityLog.resizedTo(next);
        AlTransaction hotSet = carried.snapshot();
        DirtyBitmap grown = bitmap.resizedCopy(newLayout.dataBytes());
        for (int i = 0; i + 1 < dirty.length; i += 2) {
            grown.markDirty(dirty[i], dirty[i + 1]);
        }
        byte[] zeros = new byte[MetaDevice.BLOCK_BYTES];
        if (!sameArea) {
            target.write(MetadataLayout.SUPERBLOCK_A_BLOCK, zeros);
            target.write(MetadataLayout.SUPERBLOCK_B_BLOCK, zeros);
            target.flush();
            for (int slot = 0; slot < newLayout.alRingBlocks(); slot++) {
                long block = MetadataLayout.AL_OFFSET_BLOCKS + slot;
                target.write(block, hotSet != null && hotSet.blockIndex() == block ? hotSet.block() : zeros);
            }
        }
        grown.persistChanged(target, newLayout);
        target.flush();
        Superblock written;
        if (sameArea) {
            written = SuperblockPair.write(target, superblock, next);
        } else {
            written = next.withSequence(superblock.sequence() + 1);
            target.write(SuperblockPair.slotOf(written.sequence()), SuperblockCodec.encode(written));
            target.flush();
        }
        return new Metadata(target, written, grown, carried);
    }

    /**
     * create-md: writes fresh metadata for {@code layout}. The old superblocks are destroyed
     * first, so a crash half way leaves "no valid superblock" rather than old superblocks over a
     * half-cleared bitmap; the new superblock is written last.
     */
    public static Metadata create(MetaDevice device, MetadataLayout layout, int nodeId,
                                  String nodeName, RandomGenerator random) throws IOException {
        Objects.requireNonNull(random, "random");
        checkDeviceSize(device, layout);
        byte[] zeros = new byte[MetaDevice.BLOCK_BYTES];
        device.write(MetadataLayout.SUPERBLOCK_A_BLOCK, zeros);
        device.write(MetadataLayout.SUPERBLOCK_B_BLOCK, zeros);
        device.flush();
        for (long block = MetadataLayout.AL_OFFSET_BLOCKS; block < layout.areaBlocks(); block++) {
            device.write(block, zeros);
        }
        device.flush();
        long metaId = 0;
        for (int attempt = 0; attempt < 16 && metaId == 0; attempt++) {
            metaId = random.nextLong();
        }
        Checks.state(metaId != 0, "the random source keeps returning 0");
        Superblock fresh = SuperblockPair.writeBoth(device,
                Superblock.fresh(layout, metaId, nodeId, nodeName));
        return new Metadata(device, fresh, new DirtyBitmap(layout.dataBytes()),
                new ActivityLog.Replay(0, new long[0]));
    }

    /**
     * Opens existing metadata. {@code expected} is the layout the agent computed from the device
     * (internal) or the data size (external); {@code nodeName}, when not null, must be the name
     * the metadata was created for.
     *
     * <p>Recovery happens here: unless the activity log is marked clean, every extent of its
     * newest transaction is marked dirty and those bitmap pages are flushed before anything else
     * is written; a superblock still flagged Primary becomes crashed-Primary.
     */
    public static Metadata open(MetaDevice device, MetadataLayout expected, String nodeName)
            throws IOException, MetadataException {
        checkDeviceSize(device, expected);
        Superblock found = SuperblockPair.read(device);
        if (!found.layout().equals(expected)) {
            throw new MetadataException("metadata geometry " + found.layout()
                    + " does not match the expected " + expected
                    + " (was the device resized or the metadata created elsewhere?)");
        }
        if (nodeName != null && found.nodeNameHash() != Superblock.hashNodeName(nodeName)) {
            throw new MetadataException("metadata was created for another node than '" + nodeName
                    + "' (node name hash differs)");
        }
        DirtyBitmap bitmap = DirtyBitmap.load(device, expected);
        ActivityLog.Replay replay = ActivityLog.replay(device, found);
        Metadata metadata = new Metadata(device, found, bitmap, replay);
        metadata.recover();
        return metadata;
    }

    private void recover() throws IOException {
        if (!superblock.has(SuperblockFlag.AL_CLEAN)) {
            long[] extents = replayed.extents();
            for (long extent : extents) {
                long start = extent * superblock.alExtentBytes();
                bitmap.markDirty(start, Math.min(superblock.alExtentBytes(),
                        layout.dataBytes() - start));
            }
            if (bitmap.persistChanged(device, layout) > 0) {
                device.flush();
            }
        }
        if (superblock.has(SuperblockFlag.PRIMARY)) {
            updateSuperblock(s -> s.with(SuperblockFlag.PRIMARY, false)
                    .with(SuperblockFlag.CRASHED_PRIMARY, true));
        }
    }

    private static void checkDeviceSize(MetaDevice device, MetadataLayout layout) {
        Checks.argument(device.blockCount() >= layout.areaBlocks(), "the metadata device has "
                + device.blockCount() + " blocks, the layout needs " + layout.areaBlocks());
    }

    public Superblock superblock() {
        return superblock;
    }

    /**
     * What a Diskless node keeps: this superblock (its identifiers and flags) in memory, over a
     * device that discards every write, with a clean bitmap and an empty activity log. The real
     * device is no longer touched through the copy.
     */
    public Metadata detachedCopy() {
        return new Metadata(new DiscardingMetaDevice(layout.areaBlocks()), superblock,
                new DirtyBitmap(layout.dataBytes()), new ActivityLog.Replay(0, new long[0]));
    }

    public MetadataLayout layout() {
        return layout;
    }

    public DirtyBitmap bitmap() {
        return bitmap;
    }

    public ActivityLog activityLog() {
        return activityLog;
    }

    /** What the activity log held at open (before recovery marked it dirty). */
    public ActivityLog.Replay replayed() {
        return replayed;
    }

    /**
     * Applies {@code change} to the superblock and writes it with the A/B protocol. Changing the
     * activity log's extent size or hot maximum is allowed only while the log is clean and
     * nothing is hot, because replay interprets extent numbers with the stored extent size.
     */
    public Superblock updateSuperblock(UnaryOperator<Superblock> change) throws IOException {
        Superblock changed = change.apply(superblock);
        Checks.argument(changed.layout().equals(layout) && changed.metaId() == superblock.metaId(),
                "a superblock update must not change the geometry or the metadata id");
        boolean retuned = changed.alExtentBytes() != superblock.alExtentBytes()
                || changed.alActiveMax() != superblock.alActiveMax();
        if (retuned) {
            Checks.state(superblock.has(SuperblockFlag.AL_CLEAN)
                            && changed.has(SuperblockFlag.AL_CLEAN)
                            && activityLog.hotExtents().isEmpty() && !activityLog.hasPending(),
                    "the activity log can be retuned only while it is clean and nothing is hot");
        }
        superblock = SuperblockPair.write(device, superblock, changed);
        if (retuned) {
            activityLog = ActivityLog.resume(superblock, activityLog.lastCommitted());
        }
        return superblock;
    }

    /**
     * Makes every extent of {@code length} bytes at {@code offset} durably hot before the write
     * is submitted, free to evict any idle extent. Returns false, holding nothing, when the log
     * is full of extents with writes in flight; the caller retries after {@link #endWrite} of
     * another write.
     */
    public boolean beginWrite(long offset, long length) throws IOException {
        return beginWrite(offset, length, Long.MAX_VALUE, () -> new long[0]) == AlAdmission.Kind.READY;
    }

    /**
     * Makes every extent of {@code length} bytes at {@code offset} durably hot before the write
     * is submitted. READY: admitted, with a reference on each extent for {@link #endWrite}.
     * Otherwise nothing is held: WAIT_FOR_WRITES, retry after another write ends;
     * WAIT_FOR_FLUSH, retry after a data flush covering {@code flushedThrough}'s successor.
     *
     * <p>The replication core keeps a block written before a power loss from leaving the log
     * while its bytes may still sit in the data disk's volatile cache: an idle extent is evicted
     * only when its last write's stamp ({@link #endWrite(long, long, long)}) is at most
     * {@code flushedThrough}, the count of completed writes a successful flush has covered. A
     * transaction this write needs also makes hot the cold extents {@code alsoHot} gives (the
     * writes queued behind it), so that a burst of writes to cold extents costs one transaction.
     */
    public AlAdmission.Kind beginWrite(long offset, long length, long flushedThrough, Supplier<long[]> alsoHot)
            throws IOException {
        // Each check tests before it builds its message: this runs for every write.
        if (length <= 0 || offset < 0 || length > layout.dataBytes() - offset) {
            Checks.argument(false, "write of " + length + " bytes at " + offset + " is outside the data");
        }
        long first = activityLog.extentOf(offset);
        long last = activityLog.extentOf(offset + length - 1);
        if (last - first >= superblock.alActiveMax()) {
            Checks.argument(false, "a write of " + length + " bytes spans " + (last - first + 1)
                    + " activity log extents, more than the " + superblock.alActiveMax()
                    + " that may be hot at once");
        }
        for (long extent = first; extent <= last; extent++) {
            long next = extent + 1;
            Supplier<long[]> also = next > last ? alsoHot : () -> alsoHot(next, last, alsoHot.get());
            AlAdmission admission = activityLog.ensureActive(extent, also, flushedThrough);
            if (admission.kind() == AlAdmission.Kind.WRITE_TRANSACTION) {
                makeDurable(admission.transaction());
            } else if (admission.kind() != AlAdmission.Kind.READY) {
                for (long taken = first; taken < extent; taken++) {
                    // Given back unused: no write ended, so the extent's stamp stays as it was.
                    activityLog.release(taken, 0);
                }
                return admission.kind();
            }
        }
        return AlAdmission.Kind.READY;
    }

    /** The rest of this write's extents first, then those of the writes behind it. */
    private static long[] alsoHot(long from, long to, long[] behind) {
        long[] all = new long[(int) (to - from + 1) + behind.length];
        for (int i = 0; from + i <= to; i++) {
            all[i] = from + i;
        }
        System.arraycopy(behind, 0, all, (int) (to - from + 1), behind.length);
        return all;
    }

    /** Whether a write of {@code length} bytes at {@code offset} would need a transaction. */
    public boolean needsTransaction(long offset, long length) {
        long first = activityLog.extentOf(offset);
        long last = activityLog.extentOf(offset + length - 1);
        for (long extent = first; extent <= last; extent++) {
            if (!activityLog.isActive(extent)) {
                return true;
            }
        }
        return false;
    }

    /** The write admitted by {@link #beginWrite} with the same range completed; see below. */
    public void endWrite(long offset, long length) {
        endWrite(offset, length, Long.MAX_VALUE);
    }

    /**
     * The write admitted by {@link #beginWrite} with the same range completed. {@code stamp} is
     * the caller's count of completed data writes, this one included: a flush covering that many
     * lets its extents leave the log.
     */
    public void endWrite(long offset, long length, long stamp) {
        long first = activityLog.extentOf(offset);
        long last = activityLog.extentOf(offset + length - 1);
        for (long extent = first; extent <= last; extent++) {
            activityLog.release(extent, stamp);
        }
    }

    /** Writes the changed bitmap pages and flushes. Returns the number of pages written. */
    public int persistBitmap() throws IOException {
        int written = bitmap.persistChanged(device, layout);
        if (written > 0) {
            device.flush();
        }
        return written;
    }

    /**
     * Clean stop or demotion: the whole bitmap is made durable, the activity log is emptied, and
     * the superblock says so, so the next open replays nothing. No write may be in flight.
     */
    public void closeClean() throws IOException {
        persistBitmap();
        AlTransaction emptying = activityLog.deactivateAll();
        if (emptying != null) {
            writeTransaction(emptying);
        }
        updateSuperblock(s -> s.with(SuperblockFlag.AL_CLEAN, true)
                .with(SuperblockFlag.PRIMARY, false));
    }

    /**
     * The order that keeps the invariant "a dirty bit is on disk or in a durable hot extent":
     * first the evicted extents' bitmap pages, then (once) the superblock's al-clean flag goes,
     * then the transaction itself.
     */
    private void makeDurable(AlTransaction transaction) throws IOException {
        try {
            int pages = 0;
            for (long extent : transaction.evictedExtents()) {
                long start = extent * superblock.alExtentBytes();
                pages += bitmap.persistChangedIn(device, layout, start,
                        Math.min(superblock.alExtentBytes(), layout.dataBytes() - start));
            }
            if (pages > 0) {
                device.flush();
            }
            if (superblock.has(SuperblockFlag.AL_CLEAN)) {
                updateSuperblock(s -> s.with(SuperblockFlag.AL_CLEAN, false));
            }
            writeTransaction(transaction);
        } catch (IOException | RuntimeException e) {
            if (activityLog.hasPending()) {
                activityLog.abort(transaction);
            }
            throw e;
        }
    }

    private void writeTransaction(AlTransaction transaction) throws IOException {
        device.write(transaction.blockIndex(), transaction.block());
        device.flush();
        activityLog.commit(transaction);
    }
}
