package io.repl.core.replication;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * Data-disk operations submitted and not yet completed, by the id the core chose. Lookups only:
 * nothing iterates this map, so hash order never decides anything.
 */
final class IoTable {

    /** Called once when the operation completes; {@code data} is the read buffer for READ. */
    @FunctionalInterface
    interface Completion {
        void done(int errno, ByteBuffer data);
    }

    private final Map<Long, Completion> pending = new HashMap<>();
    private final CoreActions actions;
    private final int pendingMax;
    private long nextId = 1;
    /** Data writes completed so far, and how many of them a completed flush has covered. */
    private long writesCompleted;
    private long writesFlushed;
    private boolean durabilityFlushRunning;
    private java.util.function.IntConsumer onDurable = errno -> { };

    IoTable(CoreActions actions, int pendingMax) {
        this.actions = actions;
        this.pendingMax = pendingMax;
    }

    long submit(DiskIo.Kind kind, ByteRange range, ByteBuffer data, boolean fua, Completion completion) {
        if (pending.size() >= pendingMax) {
            throw new IllegalStateException("more than " + pendingMax + " disk operations in flight");
        }
        long id = nextId++;
        pending.put(id, tracked(kind, completion));
        long offset = range == null ? 0 : range.offset();
        int length = range == null ? 0 : (int) range.length();
        actions.submitIo(new DiskIo(id, kind, offset, length, data, fua));
        return id;
    }

    /** Counts completed writes, and the writes each successful flush covers. */
    private Completion tracked(DiskIo.Kind kind, Completion completion) {
        if (kind == DiskIo.Kind.FLUSH) {
            long covered = writesCompleted;
            return (errno, data) -> {
                if (errno == 0) {
                    writesFlushed = Math.max(writesFlushed, covered);
                }
                completion.done(errno, data);
            };
        }
        if (kind == DiskIo.Kind.WRITE || kind == DiskIo.Kind.ZERO) {
            return (errno, data) -> {
                writesCompleted++;
                completion.done(errno, data);
            };
        }
        return completion;
    }

    /** Data writes completed so far (a write's stamp for the activity log, see {@link #writesFlushed}). */
    long writesCompleted() {
        return writesCompleted;
    }

    /** How many of the completed data writes a successful flush, submitted after them, made durable. */
    long writesFlushed() {
        return writesFlushed;
    }

    /**
     * Asks for a data flush so the activity log may evict an extent; {@code onDurable} runs when
     * it completed, to retry the admissions that waited (or, if it failed, to fail the disk: the
     * writes it was to make durable may not be).
     */
    void requestDurability() {
        if (durabilityFlushRunning) {
            return;
        }
        durabilityFlushRunning = true;
        submit(DiskIo.Kind.FLUSH, null, null, false, (errno, ignored) -> {
            durabilityFlushRunning = false;
            onDurable.accept(errno);
        });
    }

    /** What runs when a durability flush ends, with its errno: a failed one fails the disk. */
    void onDurable(java.util.function.IntConsumer action) {
        onDurable = action;
    }

    void complete(long ioId, int errno, ByteBuffer data) {
        Completion completion = pending.remove(ioId);
        if (completion == null) {
            throw new IllegalStateException("completion for unknown or already completed I/O " + ioId);
        }
        completion.done(errno, data);
    }

    int inFlight() {
        return pending.size();
    }
}
