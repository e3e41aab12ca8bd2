package io.repl.core.replication;

import io.repl.protocol.DiskState;
import io.repl.protocol.ResyncData;
import io.repl.protocol.ResyncNegativeAck;
import io.repl.protocol.ResyncRequest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The SyncSource side: reads the blocks the target asks for and sends them. A read waits for
 * application writes to the same blocks whose local part is running (and for DATA from the peer
 * still being applied), and new application writes to blocks being read wait for the read, so
 * RS_DATA with old bytes never follows DATA with new bytes for the same block.
 */
final class ResyncSource {
    private final CoreContext ctx;
    private final ArrayDeque<ResyncRequest> pending = new ArrayDeque<>();
    private final List<ByteRange> reading = new ArrayList<>();
    private final SyncMeter meter = new SyncMeter();
    /** Whether the target has reported a disk that is not UpToDate since the resync began. */
    private boolean targetSeenSyncing;

    ResyncSource(CoreContext ctx) {
        this.ctx = ctx;
    }

    void start(boolean peerUpToDate) {
        targetSeenSyncing = !peerUpToDate;
        meter.start(ctx.meta.bitmap().dirtyBytes(), ctx.nowNanos);
        ctx.hook(Hook.BEFORE_RESYNC_SOURCE);
    }

    void onRequest(ResyncRequest request) {
        if (!ctx.state.replication.isSource()) {
            ctx.protocolError("RS_REQUEST " + request.offset() + " while " + ctx.state.replication.displayName());
            return;
        }
        if (request.offset() + request.length() > ctx.meta.dataBytes()) {
            ctx.protocolError("RS_REQUEST " + request.offset() + "+" + request.length() + " ends past the device");
            return;
        }
        if (pending.size() + reading.size() >= 2 * ctx.config.resyncWindow()) {
            ctx.protocolError("more than " + 2 * ctx.config.resyncWindow() + " RS_REQUESTs outstanding");
            return;
        }
        pending.addLast(request);
        pump();
    }

    /** Starts reads in request order while the head does not collide with a running write. */
    void pump() {
        if (ctx.recoveryFlushPending) {
            return;
        }
        int budget = pending.size();
        while (!pending.isEmpty() && budget-- > 0) {
            ResyncRequest head = pending.peekFirst();
            ByteRange range = new ByteRange(head.offset(), head.length());
            if (ctx.writePath.overlapsLocal(range) || ctx.peerWrites.overlapsPending(range)) {
                // Writes that arrived before this request (ours, or a just-demoted peer's DATA)
                // land first, so the block we send is at least as new as every write before it.
                return;
            }
            pending.pollFirst();
            read(range);
        }
    }

    private void read(ByteRange range) {
        reading.add(range);
        long generation = ctx.state.connectionGeneration;
        ctx.io.submit(DiskIo.Kind.READ, range, null, false, (errno, data) -> {
            reading.remove(range);
            if (errno == Errno.OK) {
                if (ctx.sendOn(generation, new ResyncData(range.offset(), data))) {
                    // The block is on its way; if it never lands, the target's own bit says so.
                    ctx.meta.bitmap().markClean(range.offset(), range.length());
                }
            } else {
                ctx.log("error", "resync read " + range + " failed with errno " + errno);
                ctx.sendOn(generation, new ResyncNegativeAck(range.offset(), (int) range.length(), errno));
            }
            ctx.writePath.pump();
            pump();
        });
    }

    boolean readsOverlap(ByteRange range) {
        for (ByteRange read : reading) {
            if (read.sharesBlockWith(range)) {
                return true;
            }
        }
        return false;
    }

    /** The peer's STATE changed its disk; UpToDate after syncing means the target finished. */
    void onPeerDisk(boolean upToDate) {
        if (!ctx.state.replication.isSource()) {
            return;
        }
        if (!upToDate) {
            targetSeenSyncing = true;
            return;
        }
        if (targetSeenSyncing) {
            finish();
        }
    }

    private void finish() {
        meter.stop();
        ctx.meta.persistBitmap();
        ctx.meta.markUpToDate(ctx.meta.uuids().afterResyncAsSource());
        // The peer now holds our data: whatever this node feared of it (a late verdict of the
        // witness, an outdate), this copy is as current as the peer's.
        ctx.state.disk = DiskState.UP_TO_DATE;
        ctx.state.replication = ReplicationState.ESTABLISHED;
        ctx.log("info", "resync as source finished");
        ctx.hook(Hook.AFTER_RESYNC_SOURCE);
        // Ranges marked after the target last asked for them (on-io-error pass-on) go now.
        ctx.resyncMarkedRanges();
    }

    void onPeerLost() {
        pending.clear();
        meter.stop();
        targetSeenSyncing = false;
    }

    SyncProgress progress() {
        return meter.progress(ctx.meta.bitmap().dirtyBytes(), ctx.nowNanos);
    }

    boolean idle() {
        return pending.isEmpty() && reading.isEmpty();
    }
}
