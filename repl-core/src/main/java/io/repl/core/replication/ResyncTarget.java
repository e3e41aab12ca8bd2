package io.repl.core.replication;

import io.repl.core.metadata.DirtyBitmap;
import io.repl.core.uuid.GenerationUuids;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.DiskState;
import io.repl.protocol.ResyncData;
import io.repl.protocol.ResyncNegativeAck;
import io.repl.protocol.ResyncRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The SyncTarget side: walks the bitmap, keeps a bounded window of RS_REQUESTs outstanding,
 * writes the answers in arrival order with DATA, and clears a block's bit only after a flush
 * made its new bytes durable (a crash before that keeps the bit). When no bit is left it takes
 * the source's generation identifiers and becomes UpToDate.
 */
final class ResyncTarget {
    /** Passes over the bitmap before giving up on blocks the source could not read. */
    private static final int PASSES_MAX = 3;
    private final CoreContext ctx;
    /** Outstanding requests: offset to length. */
    private final TreeMap<Long, Integer> outstanding = new TreeMap<>();
    /**
     * Outstanding requests a local write overlapped since they were sent (a Primary resyncing
     * an attached disk writes while it syncs): their answers may hold older bytes, so they are
     * not written, and their bits stay set for another pass.
     */
    private final java.util.Set<Long> stale = new java.util.HashSet<>();
    /** Answers dropped as stale during the current pass: the pass does not count against the limit. */
    private boolean staleThisPass;
    private final List<ByteRange> unflushed = new ArrayList<>();
    private final SyncMeter meter = new SyncMeter();
    private GenerationUuids sourceUuids;
    private boolean running;
    private boolean flushing;
    private long cursorBlock;
    private int pass;
    private long unflushedBlocks;
    /**
     * Counts resyncs. A write or flush of an earlier resync must not clear bits: the handshake
     * since may have set them again from the peer's bitmap.
     */
    private long session;

    ResyncTarget(CoreContext ctx) {
        this.ctx = ctx;
    }

    void start(GenerationUuids source) {
        sourceUuids = source;
        session++;
        unflushed.clear();
        unflushedBlocks = 0;
        stale.clear();
        staleThisPass = false;
        running = true;
        cursorBlock = 0;
        pass = 1;
        meter.start(ctx.meta.bitmap().dirtyBytes(), ctx.nowNanos);
        ctx.hook(Hook.BEFORE_RESYNC_TARGET);
        fill();
    }

    /** Sends requests for the next dirty runs until the window is full. */
    void fill() {
        if (!running || ctx.state.syncPaused() || !ctx.state.connected()) {
            return;
        }
        DirtyBitmap bitmap = ctx.meta.bitmap();
        long runBlocksMax = ctx.config.requestBytesMax() / ByteRange.BLOCK_BYTES;
        int budget = ctx.config.resyncWindow();
        while (outstanding.size() < ctx.config.resyncWindow() && budget-- > 0) {
            long first = bitmap.nextDirtyBlock(cursorBlock);
            if (first < 0) {
                cursorBlock = bitmap.blocks();
                break;
            }
            long end = Math.min(bitmap.nextCleanBlock(first), first + runBlocksMax);
            long offset = first * ByteRange.BLOCK_BYTES;
            int length = (int) (Math.min(end * ByteRange.BLOCK_BYTES, ctx.meta.dataBytes()) - offset);
            outstanding.put(offset, length);
            ctx.send(new ResyncRequest(offset, length));
            cursorBlock = end;
        }
        maybeFinish();
    }

    void onData(ResyncData data) {
        Integer length = outstanding.get(data.offset());
        if (!running || length == null || length != data.length()) {
            ctx.protocolError("RS_DATA " + data.offset() + "+" + data.length() + " answers no outstanding request");
            return;
        }
        ByteRange range = new ByteRange(data.offset(), data.length());
        if (stale.remove(data.offset())) {
            outstanding.remove(data.offset());
            staleThisPass = true;
            fill();
            return;
        }
        long current = session;
        ctx.peerWrites.onResyncData(range, data.data(), (errno, ignored) -> {
            if (session == current) {
                onWritten(range, errno);
            }
        });
    }

    void onNegativeAck(ResyncNegativeAck ack) {
        stale.remove(ack.offset());
        if (!running || outstanding.remove(ack.offset()) == null) {
            ctx.protocolError("RS_NEG_ACK " + ack.offset() + " answers no outstanding request");
            return;
        }
        ctx.log("error", "the source could not read " + ack.offset() + "+" + ack.length() + " (errno "
                + ack.errno() + "); its bits stay set");
        fill();
    }

    private void onWritten(ByteRange range, int errno) {
        outstanding.remove(range.offset());
        if (errno == Errno.EAGAIN) {
            // Dropped with the connection before it was written; the bit stays set.
            return;
        }
        if (errno != Errno.OK) {
            String why = "resync write " + range + " failed with errno " + errno;
            ctx.receivedWriteFailed(why);
            return;
        }
        unflushed.add(range);
        unflushedBlocks += range.endBlock() - range.firstBlock();
        if (unflushedBlocks >= ctx.config.resyncFlushBlocks() || outstanding.isEmpty()) {
            flushWritten();
        }
        fill();
    }

    /** Bits are cleared only for blocks a completed flush made durable. */
    private void flushWritten() {
        if (flushing || unflushed.isEmpty()) {
            return;
        }
        flushing = true;
        List<ByteRange> batch = new ArrayList<>(unflushed);
        unflushed.clear();
        unflushedBlocks = 0;
        long current = session;
        ctx.io.submit(DiskIo.Kind.FLUSH, null, null, false, (errno, ignored) -> {
            flushing = false;
            if (session == current) {
                if (errno != Errno.OK) {
                    ctx.failDisk("flush after resync writes failed with errno " + errno);
                    return;
                }
                for (ByteRange range : batch) {
                    ctx.meta.bitmap().markClean(range.offset(), range.length());
                }
            }
            // A flush of an earlier resync may have held up this one's: carry on either way.
            flushWritten();
            fill();
        });
    }

    private void maybeFinish() {
        if (outstanding.isEmpty()) {
            // Nothing more will arrive to trigger the flush (the last answer may have been a
            // RS_NEG_ACK): flush what was written so its bits can go.
            flushWritten();
        }
        if (!running || !outstanding.isEmpty() || flushing || !unflushed.isEmpty()
                || cursorBlock < ctx.meta.bitmap().blocks()) {
            return;
        }
        if (ctx.meta.bitmap().dirtyBlocks() > 0) {
            if (staleThisPass) {
                // Local writes overtook requests of this pass: walk again, that is no failure.
                staleThisPass = false;
                cursorBlock = 0;
                fill();
                return;
            }
            if (pass >= PASSES_MAX) {
                running = false;
                ctx.close(DisconnectReason.LOCAL_ERROR, "resync left " + ctx.meta.bitmap().dirtyBlocks()
                        + " blocks the source could not send", false);
                return;
            }
            pass++;
            cursorBlock = 0;
            ctx.log("info", "resync pass " + pass + ": " + ctx.meta.bitmap().dirtyBlocks() + " blocks left, first "
                    + ctx.meta.bitmap().nextDirtyBlock(0));
            fill();
            return;
        }
        finish();
    }

    private void finish() {
        running = false;
        meter.stop();
        ctx.meta.persistBitmap();
        ctx.meta.markUpToDate(GenerationUuids.afterResyncAsTarget(sourceUuids.afterResyncAsSource()));
        ctx.meta.shareGeneration();
        ctx.state.disk = DiskState.UP_TO_DATE;
        ctx.state.replication = ReplicationState.ESTABLISHED;
        ctx.state.attachedWhilePrimary = false;
        ctx.log("info", "resync as target finished");
        ctx.hook(Hook.AFTER_RESYNC_TARGET);
    }

    /** A local write of {@code range} started: answers to requests sent before it are stale. */
    void onLocalWrite(ByteRange range) {
        if (!running) {
            return;
        }
        for (var entry : outstanding.entrySet()) {
            if (new ByteRange(entry.getKey(), entry.getValue()).sharesBlockWith(range)) {
                stale.add(entry.getKey());
            }
        }
    }

    void onPeerLost() {
        running = false;
        session++;
        stale.clear();
        staleThisPass = false;
        outstanding.clear();
        unflushed.clear();
        unflushedBlocks = 0;
        meter.stop();
    }

    SyncProgress progress() {
        return meter.progress(ctx.meta.bitmap().dirtyBytes(), ctx.nowNanos);
    }

    boolean running() {
        return running;
    }

    boolean idle() {
        return outstanding.isEmpty() && !flushing && unflushed.isEmpty();
    }
}
