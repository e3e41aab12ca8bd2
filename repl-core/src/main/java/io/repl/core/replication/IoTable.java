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

    IoTable(CoreActions actions, int pendingMax) {
        this.actions = actions;
        this.pendingMax = pendingMax;
    }

    long submit(DiskIo.Kind kind, ByteRange range, java.nio.ByteBuffer data, boolean fua, Completion completion) {
        if (pending.size() >= pendingMax) {
            throw new IllegalStateException("more than " + pendingMax + " disk operations in flight");
        }
        long id = nextId++;
        pending.put(id, completion);
        long offset = range == null ? 0 : range.offset();
        int length = range == null ? 0 : (int) range.length();
        actions.submitIo(new DiskIo(id, kind, offset, length, data, fua));
        return id;
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
