package io.repl.core.replication;

import io.repl.protocol.ChecksumReply;
import io.repl.protocol.ChecksumRequest;
import io.repl.protocol.Digest;
import io.repl.protocol.DiskState;
import io.repl.protocol.Features;
import io.repl.protocol.ResyncData;
import io.repl.protocol.ResyncNegativeAck;
import io.repl.protocol.ResyncRequest;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The SyncSource side: reads the blocks the target asks for and sends them. A read waits for
 * application writes to the same blocks whose local part is running (and for DATA from the peer
 * still being applied), and new application writes to blocks being read wait for the read, so
 * RS_DATA with old bytes never follows DATA with new bytes for the same block.
 *
 * <p>A CSUM_REQUEST is read the same way; the answer is CSUM_REPLY "in sync" when the digest of
 * this copy matches the target's, else with this copy's bytes. Contiguous CSUM_REQUESTs are read
 * together, up to {@code requestBytesMax}. A range that reads as zeroes goes as a zero block when
 * the peer offered {@link Features#ZERO_BLOCKS}.
 */
final class ResyncSource {
    /** A zero block to compare reads with (ByteBuffer.mismatch compares many bytes at a time). */
    private static final ByteBuffer ZEROES = ByteBuffer.allocate(1 << 20).asReadOnlyBuffer();
    private final CoreContext ctx;
    private final ArrayDeque<Asked> pending = new ArrayDeque<>();
    private final List<ByteRange> reading = new ArrayList<>();
    /** Bytes of the requests pending and being read. */
    private long askedBytes;

    /** A request of the target: a range, with the target's digest for a CSUM_REQUEST. */
    private record Asked(ByteRange range, Digest digest) {
    }
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
        accept("RS_REQUEST", new Asked(new ByteRange(request.offset(), request.length()), null));
    }

    void onChecksumRequest(ChecksumRequest request) {
        if (!Features.has(ctx.state.features, Features.CSUM_RESYNC)) {
            ctx.protocolError("CSUM_REQUEST although checksum resync was not agreed");
            return;
        }
        if (request.digest().algorithm() != io.repl.protocol.DigestAlgorithm.SHA_256) {
            // A match skips the data: a 32-bit checksum would let a differing block through.
            ctx.protocolError("CSUM_REQUEST with " + request.digest().algorithm() + "; checksum resync takes SHA-256");
            return;
        }
        accept("CSUM_REQUEST", new Asked(new ByteRange(request.offset(), request.length()), request.digest()));
    }

    /**
     * Queues a request after checking it. The bounds are twice what a target keeps outstanding:
     * {@link ResyncTarget#requestsMax} requests and {@link ResyncTarget#bytesMax} bytes.
     */
    private void accept(String what, Asked asked) {
        ByteRange range = asked.range();
        if (!ctx.state.replication.isSource()) {
            ctx.protocolError(what + " " + range.offset() + " while " + ctx.state.replication.displayName());
            return;
        }
        if (range.end() > ctx.meta.dataBytes()) {
            ctx.protocolError(what + " " + range + " ends past the device");
            return;
        }
        int requestsMax = 2 * ResyncTarget.requestsMax(ctx.config);
        long bytesMax = 2 * ResyncTarget.bytesMax(ctx.config);
        if (pending.size() + reading.size() >= requestsMax || askedBytes + range.length() > bytesMax) {
            ctx.protocolError("more than " + requestsMax + " resync requests or " + bytesMax + " bytes outstanding");
            return;
        }
        askedBytes += range.length();
        pending.addLast(asked);
        pump();
    }

    /** Starts reads in request order while the head does not collide with a running write. */
    void pump() {
        if (ctx.recoveryFlushPending) {
            return;
        }
        int budget = pending.size();
        while (!pending.isEmpty() && budget-- > 0 && reading.size() < 2 * ctx.config.resyncWindow()) {
            Asked head = pending.peekFirst();
            if (collides(head.range())) {
                // Writes that arrived before this request (ours, or a just-demoted peer's DATA)
                // land first, so the block we send is at least as new as every write before it.
                return;
            }
            pending.pollFirst();
            List<Asked> batch = new ArrayList<>(List.of(head));
            ByteRange range = head.range();
            while (head.digest() != null && !pending.isEmpty() && pending.peekFirst().digest() != null
                    && pending.peekFirst().range().offset() == range.end()
                    && range.length() + pending.peekFirst().range().length() <= ctx.config.requestBytesMax()
                    && !collides(pending.peekFirst().range())) {
                Asked next = pending.pollFirst();
                batch.add(next);
                range = new ByteRange(range.offset(), range.length() + next.range().length());
            }
            read(range, batch);
        }
    }

    private boolean collides(ByteRange range) {
        return ctx.writePath.overlapsLocal(range) || ctx.peerWrites.overlapsPending(range);
    }

    /** Reads {@code range}, which covers the requests of {@code batch} exactly, and answers each. */
    private void read(ByteRange range, List<Asked> batch) {
        reading.add(range);
        long generation = ctx.state.connectionGeneration;
        ctx.io.submit(DiskIo.Kind.READ, range, null, false, (errno, data) -> {
            reading.remove(range);
            askedBytes -= range.length();
            for (Asked asked : batch) {
                ByteRange part = asked.range();
                if (errno != Errno.OK) {
                    ctx.log("error", "resync read " + part + " failed with errno " + errno);
                    ctx.sendOn(generation, new ResyncNegativeAck(part.offset(), (int) part.length(), errno));
                    continue;
                }
                ByteBuffer bytes = data.duplicate().position((int) (part.offset() - range.offset()))
                        .limit((int) (part.end() - range.offset())).slice();
                if (ctx.sendOn(generation, answer(asked, bytes))) {
                    // The block is on its way; if it never lands, the target's own bit says so.
                    ctx.meta.bitmap().markClean(part.offset(), part.length());
                }
            }
            ctx.writePath.pump();
            pump();
        });
    }

    /** RS_DATA (a zero block where allowed), or CSUM_REPLY in sync or with the data. */
    private io.repl.protocol.Message answer(Asked asked, ByteBuffer bytes) {
        long offset = asked.range().offset();
        if (asked.digest() != null) {
            if (Digest.of(asked.digest().algorithm(), bytes).matches(asked.digest())) {
                return ChecksumReply.matched(offset, bytes.remaining());
            }
            return ChecksumReply.differs(offset, bytes);
        }
        if (Features.has(ctx.state.features, Features.ZERO_BLOCKS) && allZeroes(bytes)) {
            return ResyncData.zeroes(offset, bytes.remaining());
        }
        return new ResyncData(offset, bytes);
    }

    static boolean allZeroes(ByteBuffer bytes) {
        ByteBuffer rest = bytes.duplicate();
        while (rest.hasRemaining()) {
            int n = Math.min(rest.remaining(), ZEROES.capacity());
            if (rest.slice(rest.position(), n).mismatch(ZEROES.slice(0, n)) >= 0) {
                return false;
            }
            rest.position(rest.position() + n);
        }
        return true;
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
        ctx.log("info", "resync as source finished: " + meter.totalBytes() + " bytes were out of sync");
        ctx.hook(Hook.AFTER_RESYNC_SOURCE);
        // Ranges marked after the target last asked for them (on-io-error pass-on) go now.
        ctx.resyncMarkedRanges();
    }

    void onPeerLost() {
        for (Asked asked : pending) {
            askedBytes -= asked.range().length();
        }
        pending.clear();
        meter.stop();
        targetSeenSyncing = false;
    }

    /** The core's tick: the meter's sample. */
    void onTick() {
        meter.sample(ctx.meta.bitmap().dirtyBytes(), ctx.nowNanos);
    }

    SyncProgress progress() {
        return meter.progress(ctx.meta.bitmap().dirtyBytes(), ctx.nowNanos);
    }

    boolean idle() {
        return pending.isEmpty() && reading.isEmpty();
    }
}
