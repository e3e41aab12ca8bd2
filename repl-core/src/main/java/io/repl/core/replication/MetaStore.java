package io.repl.core.replication;

import io.repl.core.metadata.ActivityLog;
import io.repl.core.metadata.AlAdmission;
import io.repl.core.metadata.DirtyBitmap;
import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.Superblock;
import io.repl.core.metadata.SuperblockFlag;
import io.repl.core.uuid.GenerationUuids;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.random.RandomGenerator;

/**
 * The core's access to the resource's metadata. Metadata I/O is synchronous on purpose: it is
 * rare (activity-log transactions, superblock updates, bitmap pages on state changes), small
 * (4 KiB blocks), and its ordering rules (METADATA.md section 4) are easiest to keep when each
 * step has finished before the next event. The driver gives the core a {@code MetaDevice} whose
 * calls block; the simulator gives it an in-memory device.
 *
 * <p>A metadata I/O error is not survivable for the disk (the dirty bitmap might no longer be
 * trustworthy). It does not unwind the event that met it, which would leave the core half way
 * through a change: the failure is recorded, no further metadata write is attempted, no write
 * is admitted, none is acknowledged, and as the event ends the core fails the disk
 * ({@link CoreContext#failDisk}).
 */
final class MetaStore {

    /** A metadata write failed: what, and the device's error. */
    static final class MetadataFailure extends UncheckedIOException {
        private static final long serialVersionUID = 1L;

        MetadataFailure(String what, IOException cause) {
            super("metadata " + what + " failed: " + cause.getMessage(), cause);
        }
    }

    private Metadata metadata;
    private final RandomGenerator random;
    /**
     * Whether the peer may hold our current generation (or will, when a resync we source ends).
     * Only then does a promotion need a new one; a node whose generation is already its own
     * keeps it, so repeated promotions while apart do not push the common ancestor out of the
     * four history slots. Not persisted: after a restart it is assumed shared.
     */
    private boolean generationShared = true;
    /** The first metadata failure: later writes are not attempted. */
    private MetadataFailure failed;
    /** Counts detaches and attaches: a write admitted under an earlier metadata is not ended on this one. */
    private long epoch;
    /** Running on the in-memory copy of a detached disk's metadata. */
    private boolean detached;
    /** Asks the driver for {@link ReplicationCore#onSoon}. */
    private Runnable requestSoon = () -> { };
    /** A batched transaction was asked for and {@link #admitBatch} has not run yet. */
    private boolean batchRequested;
    /** Inside {@link #admitBatch}: a write to cold extents may write its transaction. */
    private boolean batchOpen;
    /** The caller of the {@link #beginWrite} running now: whose queued writes a transaction serves. */
    private Supplier<List<ByteRange>> writesBehind;
    /** Their extents, asked only when a transaction is made (one lambda, not one per write). */
    private final Supplier<long[]> alsoHot = () -> extentsOf(writesBehind.get());

    MetaStore(Metadata metadata, RandomGenerator random) {
        this.metadata = metadata;
        this.random = random;
    }

    DirtyBitmap bitmap() {
        return metadata.bitmap();
    }

    long dataBytes() {
        return metadata.layout().dataBytes();
    }

    Superblock superblock() {
        return metadata.superblock();
    }

    GenerationUuids uuids() {
        return metadata.superblock().uuids();
    }

    boolean has(SuperblockFlag flag) {
        return metadata.superblock().has(flag);
    }

    int nodeId() {
        return metadata.superblock().nodeId();
    }

    /** Whether the activity log can ever admit a write of {@code range} (it spans few enough extents). */
    boolean admissible(ByteRange range) {
        long first = metadata.activityLog().extentOf(range.offset());
        long last = metadata.activityLog().extentOf(range.end() - 1);
        return last - first < metadata.superblock().alActiveMax();
    }

    /** What {@link #beginWrite} decided for a write. */
    enum Admission {
        /** Admitted: submit it, and {@link #endWrite} once it ended. */
        ADMITTED,
        /**
         * Its extents are cold. The transaction waits for {@link #admitBatch}, which the driver
         * runs once the events already queued have run: the writes that arrive meanwhile share it.
         */
        BATCHED,
        /** Retry after another write ends, or after the durability flush this call started. */
        BLOCKED
    }

    /**
     * Activity-log admission. A write whose extents are cold is not given a transaction at once:
     * the first such write asks the driver for a {@link ReplicationCore#onSoon} (through
     * {@code requestSoon}), and there {@link #admitBatch} writes one transaction for it and for
     * the cold extents of the writes queued behind it ({@code behind}, asked only then). An
     * extent leaves the log only once a flush covered its last write; when only uncovered ones
     * could make room, a flush of the data disk is started through {@code io}.
     */
    Admission beginWrite(ByteRange range, IoTable io, Supplier<List<ByteRange>> behind) {
        if (failed != null) {
            return Admission.BLOCKED;
        }
        // Detached, the log is in memory only: a transaction costs nothing, so none waits.
        if (!batchOpen && !detached && metadata.needsTransaction(range.offset(), range.length())) {
            if (!batchRequested) {
                batchRequested = true;
                requestSoon.run();
            }
            return Admission.BATCHED;
        }
        try {
            // Detached: the activity log is kept in memory only, and covers no disk.
            long flushedThrough = detached ? Long.MAX_VALUE : io.writesFlushed();
            writesBehind = behind;
            AlAdmission.Kind kind = metadata.beginWrite(range.offset(), range.length(), flushedThrough, alsoHot);
            if (kind == AlAdmission.Kind.WAIT_FOR_FLUSH) {
                io.requestDurability();
            }
            return kind == AlAdmission.Kind.READY ? Admission.ADMITTED : Admission.BLOCKED;
        } catch (IOException e) {
            failed = new MetadataFailure("activity log transaction", e);
            return Admission.BLOCKED;
        }
    }

    /** How a batched transaction is asked for: {@link CoreActions#runSoon}. */
    void onBatch(Runnable requestSoon) {
        this.requestSoon = requestSoon;
    }

    /**
     * The batch's moment ({@link ReplicationCore#onSoon}): {@code admit} retries the waiting
     * writes, and a cold one among them may now write its transaction.
     */
    void admitBatch(Runnable admit) {
        batchRequested = false;
        batchOpen = true;
        try {
            admit.run();
        } finally {
            batchOpen = false;
        }
    }

    /** The activity-log extents {@code ranges} touch, in order, as many as one transaction takes. */
    private long[] extentsOf(List<ByteRange> ranges) {
        ActivityLog log = metadata.activityLog();
        long[] extents = new long[ActivityLog.ALSO_HOT_MAX];
        int count = 0;
        for (ByteRange range : ranges) {
            long last = log.extentOf(range.end() - 1);
            for (long extent = log.extentOf(range.offset()); extent <= last && count < extents.length; extent++) {
                if (count == 0 || extents[count - 1] != extent) {
                    extents[count++] = extent;
                }
            }
        }
        return Arrays.copyOf(extents, count);
    }

    /** The metadata a write is admitted under; pass it back to {@link #endWrite}. */
    long epoch() {
        return epoch;
    }

    /** A write admitted under metadata {@code admittedIn} ended (one admitted before a detach ends nowhere). */
    void endWrite(ByteRange range, long admittedIn, IoTable io) {
        if (admittedIn == epoch) {
            metadata.endWrite(range.offset(), range.length(), io.writesCompleted());
        }
    }

    /** Makes bits set outside the activity log's protection (merges, full sync) durable. */
    void persistBitmap() {
        if (failed != null) {
            return;
        }
        try {
            metadata.persistBitmap();
        } catch (IOException e) {
            failed = new MetadataFailure("bitmap write", e);
        }
    }

    void update(UnaryOperator<Superblock> change) {
        if (failed != null) {
            return;
        }
        try {
            metadata.updateSuperblock(change);
        } catch (IOException e) {
            failed = new MetadataFailure("superblock write", e);
        }
    }

    void setFlag(SuperblockFlag flag, boolean set) {
        if (has(flag) != set) {
            update(s -> s.with(flag, set));
        }
    }

    /**
     * A new data generation starts (promotion while disconnected, or a Primary losing its peer).
     * The crashed-Primary mark goes with it: the activity log's extents are already in the
     * bitmap, which the bitmap identifier now covers.
     */
    void newCurrent() {
        update(s -> splitting(s).withUuids(s.uuids().newCurrent(random)).with(SuperblockFlag.CRASHED_PRIMARY, false));
        generationShared = false;
    }

    /**
     * A new generation starting where no bitmap identifier is set opens one: the data splits here
     * from the generation the bitmap will count from. Whether this node is (or, crashed, was)
     * Primary at that moment is kept with it, for the after-split-brain policies; a generation
     * started under an open bitmap identifier leaves it as it was.
     */
    private static Superblock splitting(Superblock s) {
        if (s.uuids().bitmap() != 0) {
            return s;
        }
        return s.with(SuperblockFlag.SPLIT_AS_PRIMARY,
                s.has(SuperblockFlag.PRIMARY) || s.has(SuperblockFlag.CRASHED_PRIMARY));
    }

    boolean generationShared() {
        return generationShared;
    }

    /** The peer holds, or is about to hold, our current generation. */
    void shareGeneration() {
        generationShared = true;
    }

    /** The data is now a full, current copy: consistent and up to date (and no longer deposed). */
    void markUpToDate(GenerationUuids uuids) {
        update(s -> s.withUuids(uuids).with(SuperblockFlag.CONSISTENT, true)
                .with(SuperblockFlag.WAS_UP_TO_DATE, true).with(SuperblockFlag.CRASHED_PRIMARY, false)
                .with(SuperblockFlag.DEPOSED, false));
    }

    /**
     * A resync source's copy is current, but a crashed Primary stays marked until the resync
     * ends: if it breaks off, and the target could not record that it is behind (its metadata
     * failed), the next handshake still finds the activity log's extents to send.
     */
    void markCurrentAsSource() {
        update(s -> s.with(SuperblockFlag.CONSISTENT, true).with(SuperblockFlag.WAS_UP_TO_DATE, true)
                .with(SuperblockFlag.DEPOSED, false));
    }

    /**
     * A new generation would start now ({@link #newCurrent}): its identifier, drawn but not
     * stored, so the witness can agree to it first.
     */
    long proposeNewCurrent() {
        return metadata.superblock().uuids().newCurrent(random).current();
    }

    /** Starts the new generation {@code fresh}, which the witness agreed to. */
    void adoptNewCurrent(long fresh) {
        update(s -> splitting(s).withUuids(s.uuids().newCurrent(fresh)).with(SuperblockFlag.CRASHED_PRIMARY, false));
        generationShared = false;
    }

    /** The data is about to be overwritten by a resync, or has a hole: not consistent. */
    void markInconsistent() {
        update(s -> s.with(SuperblockFlag.CONSISTENT, false).with(SuperblockFlag.WAS_UP_TO_DATE, false));
    }

    /**
     * The node drops its disk: from now on the core keeps its identifiers and flags in memory
     * only, and no write reaches the real device (which the driver closes). A failure the real
     * device reported is forgotten with it.
     */
    void detach() {
        metadata = metadata.detachedCopy();
        failed = null;
        epoch++;
        detached = true;
    }

    /** A disk comes back: {@code attached} is its metadata, opened and recovered by the driver. */
    void attach(Metadata attached) {
        metadata = attached;
        failed = null;
        epoch++;
        detached = false;
    }

    /** The metadata itself, for an online resize. */
    Metadata metadata() {
        return metadata;
    }

    io.repl.core.metadata.MetadataLayout layout() {
        return metadata.layout();
    }

    /** Whether a write is in flight at or past data byte {@code offset} (a shrink must not cut it off). */
    boolean writesInFlightFrom(long offset) {
        return metadata.activityLog().writesInFlightFrom(metadata.activityLog().extentOf(offset));
    }

    /**
     * An online resize committed {@code resized}: the same activity log (writes in flight end on
     * it), a bitmap and geometry of the new size. Not a new epoch.
     */
    void resized(Metadata resized) {
        metadata = resized;
    }

    /** A metadata operation outside this class failed. */
    void fail(String what, IOException e) {
        if (failed == null) {
            failed = new MetadataFailure(what, e);
        }
    }

    /** The first metadata write that failed, or null while the device works. */
    MetadataFailure failure() {
        return failed;
    }

    RandomGenerator random() {
        return random;
    }
}
