package io.repl.core.replication;

import io.repl.protocol.Digest;
import io.repl.protocol.ResyncNegativeAck;
import io.repl.protocol.VerifyReply;
import io.repl.protocol.VerifyRequest;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The VerifyTarget side of online verify: answers each OV_REQUEST with the digest of this node's
 * copy of the range (OV_REPLY), or with RS_NEG_ACK when it has no readable copy.
 *
 * <p>Ordering, so that the digest covers exactly the writes the VerifySource's copy will hold when
 * it reads: requests are answered in arrival order; a request's read starts only once every write
 * to its blocks that came before it is on the disk (this node's own writes as Primary, and DATA
 * received from the peer before the request). From the request's arrival until its OV_REPLY is
 * sent, new front-end writes to its blocks wait in admission (a Primary's DATA for them then
 * follows the OV_REPLY on the wire) and DATA from the peer for them waits too.
 *
 * <p>This node shows {@code VerifyT} while its peer verifies: from an OV_REQUEST received while
 * Established until no request arrived for two ticks (the source keeps its window full while it
 * runs), a state change, or the end of the connection. The state is this node's view; the wire
 * has no message for it.
 */
final class VerifyTarget {
    /** The largest range one OV_REQUEST may cover: what a target reads into memory at once. */
    static final int RANGE_BYTES_MAX = 1 << 20;
    private final CoreContext ctx;
    /** Requests not answered yet, in arrival order, each with the arrival mark of peer writes at the time. */
    private final ArrayDeque<Held> pending = new ArrayDeque<>();
    private final List<Held> reading = new ArrayList<>();
    private final SyncMeter meter = new SyncMeter();
    private boolean active;
    private long startOffset;
    private long reachedOffset;
    private long lastRequestNanos;

    /** A request and the number of the first peer write that arrived after it. */
    private record Held(VerifyRequest request, ByteRange range, long mark) {
        boolean holds(ByteRange other, long arrival) {
            return arrival >= mark && range.sharesBlockWith(other);
        }
    }

    VerifyTarget(CoreContext ctx) {
        this.ctx = ctx;
    }

    void onRequest(VerifyRequest request) {
        if (request.offset() + request.length() > ctx.meta.dataBytes() || request.length() > RANGE_BYTES_MAX) {
            ctx.protocolError("OV_REQUEST " + request.offset() + "+" + request.length() + " ends past the device or"
                    + " covers more than " + RANGE_BYTES_MAX + " bytes");
            return;
        }
        if (pending.size() + reading.size() >= 2 * ctx.config.resyncWindow()) {
            ctx.protocolError("more than " + 2 * ctx.config.resyncWindow() + " OV_REQUESTs outstanding");
            return;
        }
        if (!digestible(request)) {
            return;
        }
        lastRequestNanos = ctx.nowNanos;
        if (!active && ctx.state.replication == ReplicationState.ESTABLISHED && !ctx.verifySource.running()) {
            active = true;
            startOffset = request.offset();
            reachedOffset = request.offset();
            meter.start(ctx.meta.dataBytes() - startOffset, ctx.nowNanos);
            ctx.log("info", ctx.peerLabel() + " started an online verify (" + request.algorithm() + ") at offset "
                    + startOffset + ": VerifyT");
        }
        if (active) {
            reachedOffset = Math.max(reachedOffset, request.offset() + request.length());
        }
        pending.addLast(new Held(request, new ByteRange(request.offset(), request.length()),
                ctx.peerWrites.nextArrival()));
        pump();
    }

    /** Every algorithm this build decodes it can compute; a newer one is refused by name. */
    private boolean digestible(VerifyRequest request) {
        switch (request.algorithm()) {
            case CRC32C:
            case SHA_256:
                return true;
            default:
                ctx.protocolError("OV_REQUEST asks for digest " + request.algorithm()
                        + ", which this node cannot compute; it knows CRC32C and SHA-256");
                return false;
        }
    }

    /** Starts reads in arrival order while the head has no earlier write to its blocks in flight. */
    void pump() {
        while (!pending.isEmpty()) {
            Held head = pending.peekFirst();
            if (ctx.writePath.overlapsLocal(head.range) || ctx.peerWrites.overlapsPendingBefore(head.range, head.mark)) {
                return;
            }
            pending.pollFirst();
            read(head);
        }
    }

    private void read(Held held) {
        VerifyRequest request = held.request;
        ByteRange range = held.range;
        long generation = ctx.state.connectionGeneration;
        if (!ctx.state.hasDisk()) {
            ctx.sendOn(generation, new ResyncNegativeAck(range.offset(), (int) range.length(), Errno.EIO));
            return;
        }
        reading.add(held);
        ctx.io.submit(DiskIo.Kind.READ, range, null, false, (errno, data) -> {
            reading.remove(held);
            if (errno == Errno.OK) {
                Digest digest = Digest.of(request.algorithm(), data == null ? ByteBuffer.allocate(0) : data);
                ctx.sendOn(generation, new VerifyReply(range.offset(), (int) range.length(), digest));
            } else {
                ctx.log("error", "verify read " + range + " failed with errno " + errno);
                ctx.sendOn(generation, new ResyncNegativeAck(range.offset(), (int) range.length(), errno));
            }
            ctx.writePath.pump();
            ctx.peerWrites.pump();
            pump();
        });
    }

    /**
     * Whether a write to {@code range} must wait: a request for one of its blocks is queued or
     * being read. {@code arrival} numbers a peer write (those that arrived before the request go
     * first); a front-end write not admitted yet passes {@link Long#MAX_VALUE}.
     */
    boolean holds(ByteRange range, long arrival) {
        for (Held held : reading) {
            if (held.holds(range, arrival)) {
                return true;
            }
        }
        for (Held held : pending) {
            if (held.holds(range, arrival)) {
                return true;
            }
        }
        return false;
    }

    /** Once per tick and after every event: leaves VerifyT when the source went quiet or the pair changed. */
    void afterEvent(boolean tick) {
        if (!active) {
            return;
        }
        boolean quiet = tick && pending.isEmpty() && reading.isEmpty()
                && ctx.nowNanos - lastRequestNanos >= 2 * ctx.config.tickNanos();
        if (quiet || ctx.state.replication != ReplicationState.ESTABLISHED || !ctx.state.connected()) {
            active = false;
            meter.stop();
            ctx.log("info", "online verify by " + ctx.peerLabel() + " ended (reached offset " + reachedOffset + ")");
        }
    }

    void onPeerLost() {
        pending.clear();
        if (active) {
            active = false;
            meter.stop();
            ctx.log("info", "online verify by " + ctx.peerLabel() + " ended with the connection (reached offset "
                    + reachedOffset + ")");
        }
    }

    boolean active() {
        return active;
    }

    SyncProgress progress() {
        return meter.progress(ctx.meta.dataBytes() - reachedOffset, ctx.nowNanos);
    }

    boolean idle() {
        return pending.isEmpty() && reading.isEmpty();
    }
}
