package io.repl.core.replication;

import io.repl.core.metadata.ActivityLog;
import io.repl.protocol.Barrier;
import io.repl.protocol.BarrierAck;
import io.repl.protocol.DataWrite;
import io.repl.protocol.NegativeAck;
import io.repl.protocol.Role;
import io.repl.protocol.DiskState;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The Primary's write path: admission (conflicts, activity log, bounds), the local write and the
 * DATA to the peer in parallel, acknowledgement per protocol, barrier epochs that let the peer's
 * flushes retire writes; front-end flushes are {@link FrontFlushes}.
 */
final class WritePath {
    private final CoreContext ctx;
    /** Front-end writes not admitted yet, in arrival order. */
    private final ArrayDeque<FrontRequest> waiting = new ArrayDeque<>();
    /** Admitted writes until retired, by sequence number (also the DATA seq). */
    private final TreeMap<Long, PrimaryWrite> unretired = new TreeMap<>();
    /** Admitted writes whose local part is still running: later overlapping writes wait for them. */
    private final List<PrimaryWrite> localInFlight = new ArrayList<>();
    private final FrontFlushes flushes;
    private final Supplier<List<ByteRange>> behindHead = this::rangesBehindHead;
    /** Barriers sent and not acknowledged, oldest first: number and send time. */
    private final ArrayDeque<long[]> barriersSent = new ArrayDeque<>();
    private long nextSeq = 1;
    /** A bound was crossed and logged; cleared once the queues are below their bounds again. */
    private boolean overBoundLogged;
    private long epoch = 1;
    private int epochWrites;

    WritePath(CoreContext ctx) {
        this.ctx = ctx;
        this.flushes = new FrontFlushes(ctx);
    }

    void onRequest(FrontRequest request) {
        if (request.isRead()) {
            ctx.peerReads.onFrontRead(request);
            return;
        }
        int errno = refusal(request);
        if (errno != Errno.OK) {
            ctx.actions.completeRequest(request.requestId(), errno);
            return;
        }
        if (request.kind() == FrontRequest.Kind.FLUSH) {
            if (flushes.full()) {
                overBound("front-end flushes pending", ctx.config.queuedRequestsMax());
            }
            startFlush(request);
            return;
        }
        if (waiting.size() >= ctx.config.queuedRequestsMax()) {
            overBound("front-end requests waiting for admission", ctx.config.queuedRequestsMax());
        }
        waiting.addLast(request);
        pump();
    }

    /**
     * The front end stops reading requests well before these bounds (it keeps fewer in flight
     * than the core queues), so crossing one is a driver bug. The request still waits like the
     * others: answering it with an error would fail a client for being fast. Logged once per
     * episode, loudly.
     */
    private void overBound(String what, int bound) {
        if (!overBoundLogged) {
            overBoundLogged = true;
            ctx.log("error", "BUG: more than " + bound + " " + what + "; the front end must stop reading"
                    + " requests before this bound");
        }
    }

    private int refusal(FrontRequest request) {
        if (ctx.state.disk == DiskState.FAILED || ctx.meta.failure() != null) {
            return Errno.EIO;
        }
        if (ctx.state.role != Role.PRIMARY) {
            return Errno.EROFS;
        }
        if (ctx.servesThroughPeer() ? noServer() : !ctx.state.diskWritable()) {
            return Errno.EIO;
        }
        if (request.kind() == FrontRequest.Kind.FLUSH) {
            return Errno.OK;
        }
        long offset = request.offset();
        long length = request.length();
        boolean aligned = offset % 512 == 0 && length % 512 == 0;
        boolean inside = offset >= 0 && length > 0 && length <= ctx.config.requestBytesMax()
                && offset + length <= ctx.meta.dataBytes();
        boolean dataMatches = request.kind() != FrontRequest.Kind.WRITE
                || request.data() != null && request.data().remaining() == length;
        return aligned && inside && dataMatches && ctx.meta.admissible(request.range()) ? Errno.OK : Errno.EINVAL;
    }

    /** Admits waiting writes in order while the head can go; a blocked head blocks the rest. */
    void pump() {
        flushes.submitPending();
        if (overBoundLogged && waiting.size() < ctx.config.queuedRequestsMax() && !flushes.full()) {
            overBoundLogged = false;
        }
        int budget = waiting.size();
        while (!waiting.isEmpty() && budget-- > 0) {
            FrontRequest head = waiting.peekFirst();
            if (ctx.state.role != Role.PRIMARY) {
                waiting.pollFirst();
                ctx.actions.completeRequest(head.requestId(), Errno.EROFS);
                continue;
            }
            if (ctx.servesThroughPeer() && noServer()) {
                // Diskless (or still resyncing) and the peer cannot hold the write either.
                waiting.pollFirst();
                ctx.actions.completeRequest(head.requestId(), Errno.EIO);
                continue;
            }
            if (!ctx.peerReceivesWrites() && !ctx.state.connected() && ctx.failover.failsAlone()) {
                // No peer and no quorum under on-no-quorum io-error: fail rather than hold.
                waiting.pollFirst();
                ctx.actions.completeRequest(head.requestId(), Errno.EIO);
                continue;
            }
            if (!admissible(head)) {
                return;
            }
            waiting.pollFirst();
            start(head);
        }
    }

    /**
     * A node serving through its peer has nothing to serve from: no connection, or a peer whose
     * disk is not UpToDate. A handshake in progress on a live connection is waited for.
     */
    private boolean noServer() {
        if (ctx.state.connected() && ctx.state.replication == ReplicationState.OFF) {
            return false;
        }
        return !ctx.peerServes();
    }

    private boolean admissible(FrontRequest request) {
        if (ctx.state.connected() && ctx.state.replication == ReplicationState.OFF) {
            // The handshake compares generations and bitmaps; writes wait until it has decided.
            return false;
        }
        if (ctx.aheadBehind.holdsWrites()) {
            // Ahead, but the peer may not know yet that it is behind (see AheadBehind).
            return false;
        }
        if (!ctx.peerReceivesWrites() && !ctx.failover.acksAlone()) {
            // The peer would not have it and this node may not write alone yet: held, in order.
            return false;
        }
        if (ctx.state.peerCongested && ctx.peerReceivesWrites()) {
            // The link is slower than the front end: its send queue is above the high water
            // mark. Writes wait here, in order, until it drains, and the front end, whose
            // requests stay in flight meanwhile, stops reading more.
            return false;
        }
        if (unretired.size() >= ctx.config.writesInFlightMax()) {
            closeEpoch(false);
            return false;
        }
        ByteRange range = request.range();
        if (overlapsLocal(range) || ctx.resyncSource.readsOverlap(range) || ctx.peerWrites.overlapsPending(range)
                || ctx.verifySource.holdsFrontWrite(range) || ctx.verifyTarget.holds(range, Long.MAX_VALUE)) {
            return false;
        }
        MetaStore.Admission admission = ctx.meta.beginWrite(range, ctx.io, behindHead);
        if (admission == MetaStore.Admission.BLOCKED) {
            // Hot extents are pinned by unretired writes: a barrier lets the peer retire them.
            closeEpoch(false);
        }
        return admission == MetaStore.Admission.ADMITTED;
    }

    /** The ranges of the writes waiting behind the head, for a batched activity-log transaction. */
    private List<ByteRange> rangesBehindHead() {
        List<ByteRange> ranges = new ArrayList<>(Math.min(waiting.size(), ActivityLog.ALSO_HOT_MAX));
        for (FrontRequest request : waiting) {
            if (ranges.size() == ActivityLog.ALSO_HOT_MAX) {
                break;
            }
            ranges.add(request.range());
        }
        return ranges;
    }

    boolean overlapsLocal(ByteRange range) {
        for (PrimaryWrite write : localInFlight) {
            if (write.range.sharesBlockWith(range)) {
                return true;
            }
        }
        return false;
    }

    private void start(FrontRequest request) {
        boolean replicate = ctx.peerReceivesWrites();
        PrimaryWrite write = new PrimaryWrite(nextSeq++, request, epoch, replicate, ctx.nowNanos);
        write.metaEpoch = ctx.meta.epoch();
        write.throughPeer = ctx.servesThroughPeer();
        if (!replicate) {
            // Marked before the write can land, so no crash or ack can precede the mark.
            ctx.meta.bitmap().markDirty(write.range.offset(), write.range.length());
            ctx.aheadBehind.onWriteNotMirrored(write.range);
        }
        unretired.put(write.seq, write);
        boolean local = ctx.state.hasDisk();
        if (local) {
            localInFlight.add(write);
            // A resync block requested before this write may bring older bytes: not written.
            ctx.resyncTarget.onLocalWrite(write.range);
        }
        // DATA first: the peer's path (wire, its disk, the ack) is the longer one, so it starts
        // before the local submission, which may run the kernel's block layer inline.
        if (replicate) {
            ctx.send(dataMessage(write));
        }
        if (local) {
            DiskIo.Kind kind = request.kind() == FrontRequest.Kind.WRITE ? DiskIo.Kind.WRITE : DiskIo.Kind.ZERO;
            ByteBuffer data = kind == DiskIo.Kind.WRITE ? request.data().duplicate() : null;
            ctx.io.submit(kind, write.range, data, request.fua(), (errno, ignored) -> onLocalDone(write, errno));
        } else {
            // Diskless: the peer's copy is the only one; the write completes with its WRITE_ACK.
            write.localDone = true;
        }
        if (replicate) {
            epochWrites++;
            if (epochWrites >= ctx.config.epochWritesMax()) {
                closeEpoch(false);
            }
        }
    }

    private static DataWrite dataMessage(PrimaryWrite write) {
        FrontRequest request = write.request;
        int flags = request.fua() ? DataWrite.FUA : 0;
        if (request.kind() == FrontRequest.Kind.WRITE) {
            return DataWrite.of(write.seq, request.offset(), request.data().duplicate(), flags);
        }
        // TRIM is mirrored as ZEROES so both copies read back the same bytes.
        return DataWrite.withoutData(write.seq, request.offset(), request.length(), DataWrite.ZEROES, flags);
    }

    private void onLocalDone(PrimaryWrite write, int errno) {
        localInFlight.remove(write);
        write.localDone = true;
        if (errno != Errno.OK && ctx.state.hasDisk()) {
            String why = "local write " + write.range + " failed with errno " + errno;
            if (!ctx.diskError(why)) {
                // The error is passed on (on-io-error pass-on, or no peer to detach to): the
                // client gets it, and the range, which the peer may hold newer than we do, is
                // marked and resynced from this node.
                write.localErrno = errno;
                ctx.meta.bitmap().markDirty(write.range.offset(), write.range.length());
                ctx.log("error", why + "; passed on to the client, the range is marked out of sync");
                if (write.replicated && ctx.state.connected()) {
                    // The peer wrote it: it marks the range too (a resync it runs as target
                    // picks it up in its next pass).
                    ctx.send(new io.repl.protocol.OutOfSync(write.range.offset(), (int) write.range.length()));
                    ctx.resyncMarkedRanges();
                }
            }
            // Detached: the peer's copy counts now (the write waits for its WRITE_ACK).
        }
        advance(write);
        ctx.resyncSource.pump();
        ctx.resyncTarget.startChecksumReads();
        ctx.verifySource.pump();
        ctx.verifyTarget.pump();
        ctx.peerWrites.pump();
        pump();
    }

    private void advance(PrimaryWrite write) {
        if (!write.completed && write.localDone) {
            int errno = -1;
            if (write.localErrno != 0 || ctx.meta.failure() != null) {
                // A write is acknowledged only while its record (activity log, generation,
                // bitmap) can still be kept.
                errno = Errno.EIO;
            } else if (write.throughPeer) {
                // The peer's disk holds the only copy that counts: its WRITE_ACK, whatever the
                // protocol, or EIO once the peer cannot have it. With a witness, also the peer's
                // word that the witness records its copy as the only current one.
                errno = !write.replicated ? Errno.EIO : write.writeAcked && !ctx.state.awaitingPeerGeneration ? Errno.OK : -1;
            } else if (write.replicated) {
                errno = peerSatisfied(write) ? Errno.OK : -1;
            } else if (ctx.failover.acksAlone()) {
                // The peer's disk is gone while connected: once the witness recorded that (when
                // one is configured), so that the disk left behind is never granted a promotion.
                errno = !ctx.witness.loneCopyPending() ? Errno.OK : ctx.witness.loneCopyFails() ? Errno.EIO : -1;
            } else if (ctx.failover.failsAlone()) {
                // The peer does not have it and this node may not write alone (demoted, deposed,
                // or no quorum under io-error): its outcome is unknown to the client.
                errno = Errno.EIO;
            }
            if (errno >= 0) {
                write.completed = true;
                ctx.actions.completeRequest(write.request.requestId(), errno);
            }
        }
        if (!write.retired && write.completed && write.localDone && (!write.replicated || write.barrierAcked)) {
            write.retired = true;
            unretired.remove(write.seq);
            ctx.meta.endWrite(write.range, write.metaEpoch, ctx.io);
            if (unretired.isEmpty() && ctx.state.role != Role.PRIMARY) {
                clearPrimaryMarkWhenRetired();
            }
        }
    }

    private boolean peerSatisfied(PrimaryWrite write) {
        switch (ctx.config.protocol()) {
            case A:
                return true;
            case B:
                return write.receiveAcked || write.writeAcked;
            default:
                return write.writeAcked;
        }
    }

    void onReceiveAck(long seq) {
        PrimaryWrite write = replicatedWrite(seq, "RECV_ACK");
        if (write != null) {
            write.receiveAcked = true;
            advance(write);
        }
    }

    void onWriteAck(long seq) {
        PrimaryWrite write = replicatedWrite(seq, "WRITE_ACK");
        if (write != null) {
            write.writeAcked = true;
            advance(write);
            pump();
        }
    }

    /** The peer could not write DATA {@code seq}: the range is out of sync, the peer's disk failed. */
    void onNegativeAck(NegativeAck ack) {
        PrimaryWrite write = replicatedWrite(ack.seq(), "NEG_ACK");
        if (write == null) {
            return;
        }
        ctx.meta.bitmap().markDirty(write.range.offset(), write.range.length());
        write.replicated = false;
        if (ctx.state.peerDisk != DiskState.FAILED) {
            ctx.log("error", "peer failed to write " + write.range + " (errno " + ack.errno() + ")");
            boolean wasUpToDate = ctx.state.peerDisk == DiskState.UP_TO_DATE;
            ctx.state.peerDisk = DiskState.FAILED;
            ctx.peerDiskGone(wasUpToDate);
        }
        advance(write);
        pump();
    }

    private PrimaryWrite replicatedWrite(long seq, String what) {
        PrimaryWrite write = unretired.get(seq);
        if (write == null || !write.replicated) {
            ctx.protocolError(what + " for seq " + seq + ", which is not awaiting one");
            return null;
        }
        return write;
    }

    void onBarrierAck(BarrierAck ack) {
        long[] head = barriersSent.peekFirst();
        if (head == null || head[0] != ack.number()) {
            ctx.protocolError("BARRIER_ACK " + ack.number() + " but expected "
                    + (head == null ? "none" : String.valueOf(head[0])));
            return;
        }
        barriersSent.pollFirst();
        List<PrimaryWrite> covered = new ArrayList<>();
        for (PrimaryWrite write : unretired.values()) {
            if (write.epoch > ack.number()) {
                break;
            }
            covered.add(write);
        }
        for (PrimaryWrite write : covered) {
            if (write.replicated && !write.writeAcked) {
                ctx.protocolError("BARRIER_ACK " + ack.number() + " before WRITE_ACK of seq " + write.seq);
                return;
            }
            write.barrierAcked = true;
            advance(write);
        }
        flushes.onBarrierAck(ack.number());
        pump();
    }

    /** Sends BARRIER for the open epoch (if it has writes, or {@code force}); returns its number or -1. */
    private long closeEpoch(boolean force) {
        if (!ctx.peerReceivesWrites() || epochWrites == 0 && !force) {
            return -1;
        }
        long number = epoch;
        ctx.send(new Barrier(number, epochWrites));
        barriersSent.addLast(new long[] {number, ctx.nowNanos});
        epoch++;
        epochWrites = 0;
        return number;
    }

    private void startFlush(FrontRequest request) {
        flushes.start(request.requestId(), closeEpoch(true));
    }

    /** Every write the peer has not flushed goes into the bitmap; waiting acks are not coming. */
    void onPeerLost() {
        List<PrimaryWrite> pending = new ArrayList<>(unretired.values());
        for (PrimaryWrite write : pending) {
            if (write.replicated) {
                ctx.meta.bitmap().markDirty(write.range.offset(), write.range.length());
                write.replicated = false;
            }
            advance(write);
        }
        barriersSent.clear();
        epochWrites = 0;
        epoch++;
        flushes.onPeerLost();
        pump();
    }

    /** Closes a non-empty epoch now: the last writes mirrored before the Primary goes Ahead. */
    void closeOpenEpoch() {
        closeEpoch(false);
    }

    /** Periodic work: close a non-empty epoch so the peer's flush retires its writes. */
    void onTick() {
        closeEpoch(false);
    }

    /** The send time of the oldest peer answer still owed, or -1. */
    long oldestUnansweredNanos() {
        long oldest = -1;
        for (PrimaryWrite write : unretired.values()) {
            if (write.replicated && !write.writeAcked) {
                oldest = write.startedNanos;
                break;
            }
        }
        long[] barrier = barriersSent.peekFirst();
        if (barrier != null && (oldest < 0 || barrier[1] < oldest)) {
            oldest = barrier[1];
        }
        return oldest;
    }

    /**
     * The peer announced the generation its copy moved to when this node detached: the writes
     * only it holds may be acknowledged. Also called once this node's disk is UpToDate again.
     */
    void onPeerGenerationKnown() {
        if (!ctx.state.awaitingPeerGeneration) {
            return;
        }
        ctx.state.awaitingPeerGeneration = false;
        // Writes that retire now free room for those waiting to start.
        onAloneAllowed();
    }

    /** The node detached its disk: writes still at the disk finish there, and no longer count. */
    void onDetached() {
        // A write still at the detached disk no longer waits for it (a dying disk may take
        // long to answer); its completion, when it comes, changes nothing.
        for (PrimaryWrite write : localInFlight) {
            write.localDone = true;
        }
        localInFlight.clear();
        for (PrimaryWrite write : unretired.values()) {
            // Whatever reached the detached disk is gone with it (even once a disk is attached
            // again): only the peer's copy counts for these writes.
            write.throughPeer = true;
        }
        for (PrimaryWrite write : new ArrayList<>(unretired.values())) {
            advance(write);
        }
        pump();
    }

    /** Demotion: waiting writes are refused, the export is read-only now. */
    void onDemoted() {
        onAloneAllowed();
    }

    /**
     * The failover rules changed their answer for writes the peer does not have (a hold ended,
     * or they must fail now): settle every such write, then admit what waited.
     */
    void onAloneAllowed() {
        for (PrimaryWrite write : new ArrayList<>(unretired.values())) {
            advance(write);
        }
        pump();
    }

    /**
     * The disk failed: every request not answered yet fails with EIO, at once. Writes still
     * running on the disk or awaiting the peer retire as their parts finish; they are not
     * acknowledged later.
     */
    void failAll() {
        while (!waiting.isEmpty()) {
            ctx.actions.completeRequest(waiting.pollFirst().requestId(), Errno.EIO);
        }
        for (PrimaryWrite write : new ArrayList<>(unretired.values())) {
            if (!write.completed) {
                write.completed = true;
                ctx.actions.completeRequest(write.request.requestId(), Errno.EIO);
            }
            advance(write);
        }
        flushes.failAll();
    }

    /**
     * A node no longer Primary clears the Primary mark in its superblock once none of its writes
     * is unretired. Until then the mark stays: a node demoted with writes the peer may lack
     * holds them as a Primary does, and if it stops uncleanly the next start finds it a crashed
     * Primary, whose activity-log extents the handshake resyncs from it.
     */
    void clearPrimaryMarkWhenRetired() {
        if (unretired.isEmpty()) {
            ctx.meta.setFlag(io.repl.core.metadata.SuperblockFlag.PRIMARY, false);
        }
    }

    /**
     * Whether every write acknowledged to the client is on the peer's disk: none completed
     * without the peer's WRITE_ACK (protocols A and B acknowledge earlier).
     */
    boolean peerHasEveryAcknowledgedWrite() {
        for (PrimaryWrite write : unretired.values()) {
            if (write.completed && write.localErrno == 0 && !(write.replicated && write.writeAcked)) {
                return false;
            }
        }
        return true;
    }

    /** Whether some write went to the peer and has not been flushed there. */
    boolean awaitsPeer() {
        for (PrimaryWrite write : unretired.values()) {
            if (write.replicated) {
                return true;
            }
        }
        return false;
    }

    boolean idle() {
        return unretired.isEmpty() && waiting.isEmpty() && flushes.idle();
    }
}
