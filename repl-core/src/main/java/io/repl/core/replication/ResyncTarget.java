package io.repl.core.replication;

import io.repl.core.metadata.DirtyBitmap;
import io.repl.core.uuid.GenerationUuids;
import io.repl.protocol.ChecksumReply;
import io.repl.protocol.ChecksumRequest;
import io.repl.protocol.Digest;
import io.repl.protocol.DigestAlgorithm;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.DiskState;
import io.repl.protocol.Features;
import io.repl.protocol.ResyncData;
import io.repl.protocol.ResyncNegativeAck;
import io.repl.protocol.ResyncRequest;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The SyncTarget side: walks the bitmap, keeps a bounded window of RS_REQUESTs outstanding,
 * writes the answers in arrival order with DATA, and clears a block's bit only after a flush
 * made its new bytes durable (a crash before that keeps the bit). When no bit is left it takes
 * the source's generation identifiers and becomes UpToDate.
 *
 * <p>With checksum resync ({@code [disk] csums}, and the peer answering CSUM_REQUEST) the target
 * reads its own copy of each dirty run, sends one SHA-256 digest per {@link #CSUM_BLOCK_BYTES}
 * piece, and the source answers "in sync" (no data) or with its bytes. A piece in sync is treated
 * as written: its bit goes after a flush, since what the read returned may not have been durable
 * yet.
 */
final class ResyncTarget {
    /** Passes over the bitmap before giving up on blocks the source could not read. */
    private static final int PASSES_MAX = 3;
    /**
     * The bytes one CSUM_REQUEST covers. A request and its in-sync reply cost 110 bytes on the
     * wire (two 24-byte headers, 46 and 16 bytes of fields): 0.34 % of 32 KiB, so a checksum
     * resync of identical copies moves well under 1 % of the volume; a piece that differs costs
     * 32 KiB however few of its blocks differ.
     */
    static final int CSUM_BLOCK_BYTES = 32 * 1024;
    private final CoreContext ctx;
    /** Outstanding requests (RS_REQUEST, or CSUM_REQUEST pieces, read or sent): offset to length. */
    private final TreeMap<Long, Integer> outstanding = new TreeMap<>();
    /** The sum of {@link #outstanding}'s lengths. */
    private long outstandingBytes;
    /**
     * Outstanding requests a local write overlapped since they were sent (a Primary resyncing
     * an attached disk writes while it syncs): their answers may hold older bytes, so they are
     * not written, and their bits stay set for another pass.
     */
    private final java.util.Set<Long> stale = new java.util.HashSet<>();
    /**
     * Answers dropped as stale, or blocks the source marked anew, during the current pass: the
     * pass does not count against the limit.
     */
    private boolean staleThisPass;
    private final List<ByteRange> unflushed = new ArrayList<>();
    /**
     * Blocks the source marked out of sync (OUT_OF_SYNC: its own write there failed) after this
     * resync last asked for them. Such a block written from an earlier answer is not in sync:
     * its bit stays set when that write's flush clears the rest, and a later pass asks again.
     */
    private final java.util.Set<Long> markedSinceAsked = new java.util.HashSet<>();
    private final SyncMeter meter = new SyncMeter();
    /** Paces the requests: the fill target in flight, the floor while the application writes. */
    /** Made anew at a resync's start when {@code adjust} changed the rate settings. */
    private RateController pacer;
    /**
     * Outstanding requests the pacer counts in flight. A resync restarted on a live connection
     * restarts the pacer while answers to the earlier one's requests may still come in.
     */
    private final java.util.Set<Long> paced = new java.util.HashSet<>();
    /** Outstanding requests whose answer is being written. */
    private final java.util.Set<Long> writing = new java.util.HashSet<>();
    private GenerationUuids sourceUuids;
    private boolean running;
    private boolean flushing;
    private long cursorBlock;
    private int pass;
    private long unflushedBlocks;
    /** This resync asks with digests: configured, and the peer offered to answer them. */
    private boolean csums;
    /** Runs this node is reading to digest them, or waiting to read. */
    private int csumReads;
    /** CSUM_REQUEST pieces whose digest read has started. */
    private final java.util.Set<Long> digested = new java.util.HashSet<>();
    /**
     * Digested pieces that DATA from the peer wrote to since: an in-sync answer speaks of the
     * bytes before it, and the source's copy may not have taken that write (its local write
     * failed and it marked the range), so such an answer clears nothing.
     */
    private final java.util.Set<Long> changedAfterDigest = new java.util.HashSet<>();
    /** Runs whose digest read waits for writes to the same blocks, oldest first. */
    private final java.util.ArrayDeque<ByteRange> readsWaiting = new java.util.ArrayDeque<>();
    /** Bytes the source confirmed in sync, and bytes it sent, in this resync (for the log). */
    private long matchedBytes;
    private long receivedBytes;
    /**
     * Counts resyncs. A write or flush of an earlier resync must not clear bits: the handshake
     * since may have set them again from the peer's bitmap.
     */
    private long session;

    ResyncTarget(CoreContext ctx) {
        this.ctx = ctx;
        this.pacer = new RateController(ctx.config.sync().rate(), ctx.config.tickNanos());
    }

    void start(GenerationUuids source) {
        sourceUuids = source;
        session++;
        // Answers of the earlier resync on this connection that are being written get no other
        // answer: they leave the window now (their writes no longer clear bits).
        for (long offset : writing) {
            release(offset);
        }
        writing.clear();
        unflushed.clear();
        unflushedBlocks = 0;
        markedSinceAsked.clear();
        stale.clear();
        staleThisPass = false;
        running = true;
        cursorBlock = 0;
        pass = 1;
        csumReads = 0;
        readsWaiting.clear();
        digested.clear();
        changedAfterDigest.clear();
        matchedBytes = 0;
        receivedBytes = 0;
        csums = ctx.config.sync().csums() && Features.has(ctx.state.features, Features.CSUM_RESYNC);
        if (ctx.config.sync().csums() && !csums) {
            ctx.log("info", ctx.peerLabel() + " does not answer checksum requests: resyncing every marked block");
        }
        meter.start(ctx.meta.bitmap().dirtyBytes(), ctx.nowNanos);
        if (!pacer.config().equals(ctx.config.sync().rate())) {
            // Nothing of the old pacer carries over: start() forgets what it had in flight anyway.
            pacer = new RateController(ctx.config.sync().rate(), ctx.config.tickNanos());
        }
        pacer.start(ctx.nowNanos);
        paced.clear();
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
        int budget = requestsMax(ctx.config);
        while (windowHasRoom() && budget-- > 0) {
            long first = bitmap.nextDirtyBlock(cursorBlock);
            if (first < 0) {
                cursorBlock = bitmap.blocks();
                break;
            }
            long budgetBytes = pacer.budgetBytes(ctx.nowNanos);
            if (!csums) {
                budgetBytes = Math.min(budgetBytes, bytesMax(ctx.config) - outstandingBytes);
            }
            // A chunk is at most requestBytesMax, which bytesMax never goes below.
            long chunkBytes = Math.min(ctx.config.requestBytesMax(), pacer.chunkBytes());
            long runEnd = bitmap.nextCleanBlock(first, first + runBlocksMax);
            long budgetBlocks = budgetBytes / ByteRange.BLOCK_BYTES;
            if (budgetBlocks < Math.min(runEnd - first, chunkBytes / ByteRange.BLOCK_BYTES)) {
                // The rate or the fill target holds the rest back until an answer or the next
                // tick; a run waits until a whole chunk of it may go, not sliver by sliver.
                break;
            }
            long end = Math.min(runEnd, first + budgetBlocks);
            long offset = first * ByteRange.BLOCK_BYTES;
            int length = (int) (Math.min(end * ByteRange.BLOCK_BYTES, ctx.meta.dataBytes()) - offset);
            pacer.onSent(length, ctx.nowNanos);
            if (csums) {
                requestChecksums(new ByteRange(offset, length));
            } else {
                track(offset, length);
                ctx.send(new ResyncRequest(offset, length));
            }
            cursorBlock = end;
        }
        maybeFinish();
    }

    /**
     * Whether another run may be asked for. Plain RS_REQUESTs: at most {@link #requestsMax} of
     * them and {@link #bytesMax} bytes, so that after an outage of scattered 4 KiB writes many
     * small requests keep both disks busy (the rate controller's fill target bounds the bytes
     * further). With checksums: at most {@code resyncWindow} runs being read here and
     * {@link #requestsMax} pieces outstanding.
     */
    private boolean windowHasRoom() {
        if (!csums) {
            return outstanding.size() < requestsMax(ctx.config) && outstandingBytes < bytesMax(ctx.config);
        }
        int piecesPerRun = ctx.config.requestBytesMax() / CSUM_BLOCK_BYTES;
        return csumReads < ctx.config.resyncWindow()
                && outstanding.size() + Math.max(1, piecesPerRun) <= requestsMax(ctx.config);
    }

    /**
     * The requests (RS_REQUESTs or CSUM_REQUEST pieces) a target keeps outstanding at most; a
     * source accepts twice as many.
     */
    static int requestsMax(CoreConfig config) {
        return config.resyncWindow() * Math.max(1, config.requestBytesMax() / CSUM_BLOCK_BYTES);
    }

    /** The bytes of RS_REQUESTs a target keeps outstanding at most; a source accepts twice as many. */
    static long bytesMax(CoreConfig config) {
        return (long) config.resyncWindow() * config.requestBytesMax();
    }

    private void track(long offset, int length) {
        if (!markedSinceAsked.isEmpty()) {
            ByteRange asked = new ByteRange(offset, length);
            for (long b = asked.firstBlock(); b < asked.endBlock(); b++) {
                markedSinceAsked.remove(b);
            }
        }
        Integer earlier = outstanding.put(offset, length);
        // A resync restarted on a live connection may ask again for a range still outstanding.
        outstandingBytes += length - (earlier == null ? 0 : earlier);
        paced.add(offset);
    }

    /**
     * Reads {@code run} here, then sends the digest of each piece of it. The read waits for
     * writes to the same blocks that already arrived from the peer (or that this Primary started):
     * a digest of the bytes before them could match the source's copy, and the write landing
     * after the match would leave the copies different with no bit set.
     */
    private void requestChecksums(ByteRange run) {
        for (ByteRange piece : pieces(run)) {
            track(piece.offset(), (int) piece.length());
        }
        csumReads++;
        readsWaiting.addLast(run);
        startChecksumReads();
    }

    /** Starts the digest reads that no write to their blocks holds up, in order. */
    void startChecksumReads() {
        while (!readsWaiting.isEmpty()) {
            ByteRange run = readsWaiting.peekFirst();
            if (ctx.writePath.overlapsLocal(run) || ctx.peerWrites.overlapsPending(run)) {
                return;
            }
            readsWaiting.pollFirst();
            readForChecksums(run);
        }
    }

    private void readForChecksums(ByteRange run) {
        List<ByteRange> pieces = pieces(run);
        for (ByteRange piece : pieces) {
            digested.add(piece.offset());
        }
        long current = session;
        ctx.io.submit(DiskIo.Kind.READ, run, null, false, (errno, data) -> {
            if (session != current) {
                return;
            }
            csumReads--;
            if (errno != Errno.OK) {
                // This copy is being replaced anyway: ask for the source's bytes instead.
                ctx.log("warn", "reading " + run + " to digest it failed with errno " + errno
                        + "; asking for the data instead");
            }
            for (ByteRange piece : pieces) {
                if (stale.remove(piece.offset())) {
                    release(piece.offset());
                    staleThisPass = true;
                } else if (errno != Errno.OK) {
                    ctx.send(new ResyncRequest(piece.offset(), (int) piece.length()));
                } else {
                    ByteBuffer slice = data.duplicate().position((int) (piece.offset() - run.offset()))
                            .limit((int) (piece.end() - run.offset()));
                    ctx.send(new ChecksumRequest(piece.offset(), (int) piece.length(),
                            Digest.of(DigestAlgorithm.SHA_256, slice)));
                }
            }
            fill();
        });
    }

    /** {@code run} cut at every multiple of {@link #CSUM_BLOCK_BYTES}. */
    static List<ByteRange> pieces(ByteRange run) {
        List<ByteRange> pieces = new ArrayList<>();
        long at = run.offset();
        while (at < run.end()) {
            long next = Math.min(run.end(), (at / CSUM_BLOCK_BYTES + 1) * CSUM_BLOCK_BYTES);
            pieces.add(new ByteRange(at, next - at));
            at = next;
        }
        return pieces;
    }

    void onData(ResyncData data) {
        if (answered("RS_DATA", data.offset(), data.length())) {
            apply(new ByteRange(data.offset(), data.length()), data.zeroes() ? null : data.data());
        }
    }

    void onChecksumReply(ChecksumReply reply) {
        if (!csums) {
            ctx.protocolError("CSUM_REPLY " + reply.offset() + " although this node sent no CSUM_REQUEST");
            return;
        }
        if (!answered("CSUM_REPLY", reply.offset(), reply.length())) {
            return;
        }
        ByteRange range = new ByteRange(reply.offset(), reply.length());
        digested.remove(reply.offset());
        if (changedAfterDigest.remove(reply.offset()) && reply.inSync()) {
            // The match is about bytes a later write replaced: the bits stay for another pass.
            release(reply.offset());
            staleThisPass = true;
            fill();
            return;
        }
        if (reply.inSync()) {
            // Nothing to write: the bit goes once a flush made what the digest read durable.
            matchedBytes += range.length();
            onWritten(range, Errno.OK);
        } else {
            apply(range, reply.data());
        }
    }

    /**
     * Checks that an answer matches an outstanding request, and drops it if a local write made
     * it stale. Returns whether the caller goes on with it.
     */
    private boolean answered(String what, long offset, int length) {
        Integer outstandingLength = outstanding.get(offset);
        if (!running || outstandingLength == null || outstandingLength != length) {
            ctx.protocolError(what + " " + offset + "+" + length + " answers no outstanding request");
            return false;
        }
        if (stale.remove(offset)) {
            release(offset);
            digested.remove(offset);
            changedAfterDigest.remove(offset);
            staleThisPass = true;
            fill();
            return false;
        }
        return true;
    }

    /** Writes the source's bytes of {@code range} ({@code data} null: zeroes) as DATA would be. */
    private void apply(ByteRange range, ByteBuffer data) {
        receivedBytes += range.length();
        long current = session;
        writing.add(range.offset());
        IoTable.Completion done = (errno, ignored) -> {
            if (session == current) {
                writing.remove(range.offset());
                onWritten(range, errno);
            }
        };
        if (data == null) {
            ctx.peerWrites.onResyncZeroes(range, done);
        } else {
            ctx.peerWrites.onResyncData(range, data, done);
        }
    }

    void onNegativeAck(ResyncNegativeAck ack) {
        stale.remove(ack.offset());
        digested.remove(ack.offset());
        changedAfterDigest.remove(ack.offset());
        if (!running || release(ack.offset()) == null) {
            ctx.protocolError("RS_NEG_ACK " + ack.offset() + " answers no outstanding request");
            return;
        }
        ctx.log("error", "the source could not read " + ack.offset() + "+" + ack.length() + " (errno "
                + ack.errno() + "); its bits stay set");
        fill();
    }

    private void onWritten(ByteRange range, int errno) {
        release(range.offset());
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

    /** Forgets the outstanding request at {@code offset}; its bytes leave the controller's fill. */
    private Integer release(long offset) {
        Integer length = outstanding.remove(offset);
        if (length != null) {
            outstandingBytes -= length;
        }
        if (length != null && paced.remove(offset)) {
            pacer.onAnswered(length, ctx.nowNanos);
        }
        return length;
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
                    for (long b = range.firstBlock(); b < range.endBlock() && !markedSinceAsked.isEmpty(); b++) {
                        if (markedSinceAsked.contains(b)) {
                            ctx.meta.bitmap().markDirty(b * ByteRange.BLOCK_BYTES, ByteRange.BLOCK_BYTES);
                        }
                    }
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
        pacer.stop();
        paced.clear();
        ctx.meta.persistBitmap();
        ctx.meta.markUpToDate(GenerationUuids.afterResyncAsTarget(sourceUuids.afterResyncAsSource()));
        ctx.meta.shareGeneration();
        ctx.state.disk = DiskState.UP_TO_DATE;
        ctx.state.replication = ReplicationState.ESTABLISHED;
        ctx.state.attachedWhilePrimary = false;
        ctx.writePath.onPeerGenerationKnown();
        ctx.log("info", "resync as target finished: " + receivedBytes + " bytes received"
                + (csums ? ", " + matchedBytes + " bytes found in sync by checksum" : ""));
        ctx.hook(Hook.AFTER_RESYNC_TARGET);
    }

    /** The source marked {@code range} out of sync (see {@link #markedSinceAsked}). */
    void onMarkedOutOfSync(ByteRange range) {
        if (!running) {
            return;
        }
        for (long b = range.firstBlock(); b < range.endBlock(); b++) {
            markedSinceAsked.add(b);
        }
        // New marks from the source are no failure of this pass to fetch what it was asked.
        staleThisPass = true;
    }

    /** DATA from the peer for {@code range} arrived: digests read before it no longer hold. */
    void onPeerWrite(ByteRange range) {
        if (!running || !csums) {
            return;
        }
        for (var entry : overlapping(range)) {
            if (digested.contains(entry.getKey()) && new ByteRange(entry.getKey(), entry.getValue()).sharesBlockWith(range)) {
                changedAfterDigest.add(entry.getKey());
            }
        }
    }

    /**
     * The outstanding requests that may share a block with {@code range}: each covers at most
     * {@code requestBytesMax}, so only those starting less than that before it, up to its end.
     */
    private Iterable<java.util.Map.Entry<Long, Integer>> overlapping(ByteRange range) {
        long from = range.firstBlock() * ByteRange.BLOCK_BYTES - ctx.config.requestBytesMax();
        return outstanding.subMap(from, false, range.endBlock() * ByteRange.BLOCK_BYTES, false).entrySet();
    }

    /** A local write of {@code range} started: answers to requests sent before it are stale. */
    void onLocalWrite(ByteRange range) {
        if (!running) {
            return;
        }
        onApplicationWrite(range.length());
        for (var entry : overlapping(range)) {
            if (new ByteRange(entry.getKey(), entry.getValue()).sharesBlockWith(range)) {
                stale.add(entry.getKey());
            }
        }
    }

    /** The application wrote to this node's copy (the peer's DATA, or our own as a Primary): the resync yields. */
    void onApplicationWrite(long bytes) {
        if (running) {
            pacer.onApplicationWrite(bytes, ctx.nowNanos);
        }
    }

    /** The core's tick: the controller's next step, the meter's sample, and requests the new budget allows. */
    void onTick() {
        if (!running) {
            return;
        }
        pacer.onTick(ctx.nowNanos);
        // Bits go at least once a tick, so progress and the bitmap on disk follow the writes.
        flushWritten();
        meter.sample(ctx.meta.bitmap().dirtyBytes(), ctx.nowNanos);
        fill();
    }

    void onPeerLost() {
        running = false;
        pacer.stop();
        paced.clear();
        session++;
        stale.clear();
        staleThisPass = false;
        outstanding.clear();
        outstandingBytes = 0;
        writing.clear();
        unflushed.clear();
        unflushedBlocks = 0;
        markedSinceAsked.clear();
        csumReads = 0;
        readsWaiting.clear();
        digested.clear();
        changedAfterDigest.clear();
        meter.stop();
    }

    SyncProgress progress() {
        SyncProgress p = meter.progress(ctx.meta.bitmap().dirtyBytes(), ctx.nowNanos);
        return p == null ? null : p.withController(pacer.rateBytesPerSecond(), pacer.inFlightBytes());
    }

    boolean running() {
        return running;
    }

    boolean idle() {
        return outstanding.isEmpty() && !flushing && unflushed.isEmpty() && csumReads == 0;
    }
}
