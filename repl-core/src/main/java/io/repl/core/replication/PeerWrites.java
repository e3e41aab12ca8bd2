package io.repl.core.replication;

import io.repl.core.metadata.ActivityLog;
import io.repl.protocol.Barrier;
import io.repl.protocol.BarrierAck;
import io.repl.protocol.DataWrite;
import io.repl.protocol.NegativeAck;
import io.repl.protocol.ReceiveAck;
import io.repl.protocol.Role;
import io.repl.protocol.WriteAck;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Writes arriving from the peer (DATA from the Primary, RS_DATA of a resync) applied to the local
 * disk. Writes that share a block are applied in arrival order, one after the other, so both
 * copies end with the same bytes; writes that share nothing run concurrently. BARRIER is answered
 * once every DATA received before it is on the disk and a flush has made it durable.
 */
final class PeerWrites {
    private final CoreContext ctx;
    private final ArrayDeque<Incoming> waiting = new ArrayDeque<>();
    private final Supplier<List<ByteRange>> behind = this::waitingRanges;
    private final List<Incoming> active = new ArrayList<>();
    /** Arrival numbers of DATA not yet on the disk; a barrier waits for those before it. */
    private final TreeSet<Long> dataIncomplete = new TreeSet<>();
    private final ArrayDeque<PendingBarrier> barriers = new ArrayDeque<>();
    private boolean barrierFlushing;
    private long arrivals;
    private int epochData;

    /** A DATA or RS_DATA waiting for or being written. */
    private static final class Incoming {
        final boolean resync;
        final long seq;
        final ByteRange range;
        final int flags;
        final ByteBuffer data;
        final long arrival;
        final long generation;
        final IoTable.Completion resyncDone;
        long metaEpoch;

        Incoming(boolean resync, long seq, ByteRange range, int flags, ByteBuffer data, long arrival,
                 long generation, IoTable.Completion resyncDone) {
            this.resync = resync;
            this.seq = seq;
            this.range = range;
            this.flags = flags;
            this.data = data;
            this.arrival = arrival;
            this.generation = generation;
            this.resyncDone = resyncDone;
        }
    }

    private record PendingBarrier(long number, int writes, long arrivalMark, long generation) {
    }

    PeerWrites(CoreContext ctx) {
        this.ctx = ctx;
    }

    void onData(DataWrite message) {
        if (ctx.state.role == Role.PRIMARY) {
            ctx.protocolError("DATA seq " + message.seq() + " sent to a Primary");
            return;
        }
        if (message.offset() + message.length() > ctx.meta.dataBytes()) {
            ctx.protocolError("DATA " + message.offset() + "+" + message.length() + " ends past the device");
            return;
        }
        if (!ctx.meta.admissible(new ByteRange(message.offset(), message.length()))) {
            ctx.protocolError("DATA " + message.offset() + "+" + message.length()
                    + " spans more activity-log extents than may be hot at once");
            return;
        }
        if (!ctx.state.diskWritable()) {
            ctx.send(new NegativeAck(message.seq(), Errno.EIO));
            return;
        }
        if (ctx.config.protocol() == ReplicationProtocol.B) {
            ctx.send(new ReceiveAck(message.seq()));
        }
        if (ctx.peerDiskless()) {
            // A Diskless Primary's write lands here only: marked before it can land, so that the
            // disk that Primary left behind is resynced for it whichever way it comes back.
            ctx.meta.bitmap().markDirty(message.offset(), message.length());
        }
        epochData++;
        ctx.resyncTarget.onPeerWrite(new ByteRange(message.offset(), message.length()));
        Incoming write = new Incoming(false, message.seq(), new ByteRange(message.offset(), message.length()),
                message.flags(), message.data(), arrivals++, ctx.state.connectionGeneration, null);
        dataIncomplete.add(write.arrival);
        enqueue(write);
    }

    /** A resync block to write; {@code done} is told the outcome. */
    void onResyncData(ByteRange range, ByteBuffer data, IoTable.Completion done) {
        enqueue(new Incoming(true, -1, range, 0, data, arrivals++, ctx.state.connectionGeneration, done));
    }

    /** A resync range that reads as zeroes on the source: zeroed here (a punched hole where the disk allows). */
    void onResyncZeroes(ByteRange range, IoTable.Completion done) {
        enqueue(new Incoming(true, -1, range, DataWrite.ZEROES, null, arrivals++, ctx.state.connectionGeneration,
                done));
    }

    private void enqueue(Incoming write) {
        if (waiting.size() + active.size() >= 2 * ctx.config.writesInFlightMax() + 2 * ctx.config.resyncWindow()
                + ResyncTarget.requestsMax(ctx.config)) {
            ctx.protocolError("the peer has more writes in flight than the configured "
                    + ctx.config.writesInFlightMax());
            return;
        }
        waiting.addLast(write);
        pump();
    }

    /** Starts every waiting write that shares no block with an active or an earlier waiting one. */
    void pump() {
        List<ByteRange> blocked = new ArrayList<>();
        int budget = waiting.size();
        for (int i = 0; i < budget; i++) {
            Incoming write = waiting.pollFirst();
            if (conflicts(write.range, blocked) || ctx.verifySource.holdsPeerWrite(write.range, write.arrival)
                    || ctx.verifyTarget.holds(write.range, write.arrival) || !admitted(write)) {
                blocked.add(write.range);
                waiting.addLast(write);
            } else {
                start(write);
            }
        }
    }

    private boolean conflicts(ByteRange range, List<ByteRange> blocked) {
        if (ctx.writePath.overlapsLocal(range)) {
            // A front-end write of this node (just demoted) still runs: land after it.
            return true;
        }
        for (Incoming write : active) {
            if (write.range.sharesBlockWith(range)) {
                return true;
            }
        }
        for (ByteRange earlier : blocked) {
            if (earlier.sharesBlockWith(range)) {
                return true;
            }
        }
        return false;
    }

    /**
     * DATA goes through this node's activity log too: if this node is promoted later and then
     * crashes, blocks it received but never flushed are in a hot extent and get resynced.
     */
    private boolean admitted(Incoming write) {
        write.metaEpoch = ctx.meta.epoch();
        return write.resync || ctx.meta.beginWrite(write.range, ctx.io, behind) == MetaStore.Admission.ADMITTED;
    }

    /** The ranges of the peer's writes still waiting, for a batched activity-log transaction. */
    private List<ByteRange> waitingRanges() {
        List<ByteRange> ranges = new ArrayList<>(Math.min(waiting.size(), ActivityLog.ALSO_HOT_MAX));
        for (Incoming write : waiting) {
            if (ranges.size() == ActivityLog.ALSO_HOT_MAX) {
                break;
            }
            if (!write.resync) {
                ranges.add(write.range);
            }
        }
        return ranges;
    }

    private void start(Incoming write) {
        active.add(write);
        if ((write.flags & DataWrite.FLUSH) != 0) {
            ctx.io.submit(DiskIo.Kind.FLUSH, null, null, false, (errno, ignored) -> {
                if (errno != Errno.OK) {
                    finish(write, errno);
                } else {
                    submitWrite(write);
                }
            });
            return;
        }
        submitWrite(write);
    }

    private void submitWrite(Incoming write) {
        boolean zeroes = (write.flags & (DataWrite.ZEROES | DataWrite.TRIM)) != 0;
        boolean fua = (write.flags & DataWrite.FUA) != 0;
        ctx.io.submit(zeroes ? DiskIo.Kind.ZERO : DiskIo.Kind.WRITE, write.range, zeroes ? null : write.data, fua,
                (errno, ignored) -> finish(write, errno));
    }

    private void finish(Incoming write, int errno) {
        active.remove(write);
        if (write.resync) {
            write.resyncDone.done(errno, null);
        } else {
            dataIncomplete.remove(write.arrival);
            ctx.meta.endWrite(write.range, write.metaEpoch, ctx.io);
            if (errno == Errno.OK && ctx.state.hasDisk()) {
                ctx.sendOn(write.generation, new WriteAck(write.seq));
            } else {
                // Failed, or landed on a disk detached meanwhile, which no longer counts: the
                // Primary marks the range out of sync.
                ctx.sendOn(write.generation, new NegativeAck(write.seq, errno == Errno.OK ? Errno.EIO : errno));
                if (errno != Errno.OK && ctx.state.hasDisk()) {
                    String why = "write " + write.range + " from the peer failed with errno " + errno;
                    ctx.receivedWriteFailed(why);
                }
            }
        }
        pump();
        checkBarriers();
        ctx.writePath.pump();
        ctx.resyncSource.pump();
        ctx.resyncTarget.startChecksumReads();
        ctx.verifySource.pump();
        ctx.verifyTarget.pump();
    }

    void onBarrier(Barrier barrier) {
        if (barrier.writes() != epochData) {
            ctx.protocolError("BARRIER " + barrier.number() + " counts " + barrier.writes()
                    + " writes but " + epochData + " DATA arrived in its epoch");
            return;
        }
        epochData = 0;
        if (barriers.size() >= ctx.config.writesInFlightMax() + ctx.config.queuedRequestsMax()) {
            ctx.protocolError("too many barriers outstanding");
            return;
        }
        barriers.addLast(new PendingBarrier(barrier.number(), barrier.writes(), arrivals,
                ctx.state.connectionGeneration));
        checkBarriers();
    }

    /** One barrier flushes at a time, once every DATA that arrived before it is written. */
    private void checkBarriers() {
        if (barrierFlushing || barriers.isEmpty()) {
            return;
        }
        PendingBarrier head = barriers.peekFirst();
        if (!dataIncomplete.isEmpty() && dataIncomplete.first() < head.arrivalMark()) {
            return;
        }
        barrierFlushing = true;
        if (!ctx.state.hasDisk()) {
            // Diskless: every DATA was answered NEG_ACK (the Primary keeps those ranges marked);
            // there is nothing of ours to make durable.
            barrierFlushing = false;
            barriers.remove(head);
            ctx.sendOn(head.generation(), new BarrierAck(head.number(), head.writes()));
            checkBarriers();
            return;
        }
        ctx.io.submit(DiskIo.Kind.FLUSH, null, null, false, (errno, ignored) -> {
            barrierFlushing = false;
            barriers.remove(head);
            if (errno == Errno.OK || !ctx.state.hasDisk()) {
                ctx.sendOn(head.generation(), new BarrierAck(head.number(), head.writes()));
            } else {
                ctx.failDisk("flush for barrier " + head.number() + " failed with errno " + errno);
            }
            checkBarriers();
        });
    }

    /**
     * DATA already received is still applied: under protocol B the Primary acknowledged it on
     * receipt, and it is in the Primary's bitmap anyway. Resync blocks not started are dropped
     * (their bits stay set). Answers to the old connection go nowhere.
     */
    void onPeerLost() {
        int budget = waiting.size();
        for (int i = 0; i < budget; i++) {
            Incoming write = waiting.pollFirst();
            if (write.resync) {
                write.resyncDone.done(Errno.EAGAIN, null);
            } else {
                waiting.addLast(write);
            }
        }
        barriers.clear();
        epochData = 0;
    }

    /** Whether a peer write to a block of {@code range} is running or waiting to run. */
    boolean overlapsPending(ByteRange range) {
        for (Incoming write : active) {
            if (write.range.sharesBlockWith(range)) {
                return true;
            }
        }
        for (Incoming write : waiting) {
            if (write.range.sharesBlockWith(range)) {
                return true;
            }
        }
        return false;
    }

    /** The arrival number the next DATA or RS_DATA will get. */
    long nextArrival() {
        return arrivals;
    }

    /** Whether a peer write that arrived before number {@code mark} to a block of {@code range} is not on the disk yet. */
    boolean overlapsPendingBefore(ByteRange range, long mark) {
        for (Incoming write : active) {
            if (write.arrival < mark && write.range.sharesBlockWith(range)) {
                return true;
            }
        }
        for (Incoming write : waiting) {
            if (write.arrival < mark && write.range.sharesBlockWith(range)) {
                return true;
            }
        }
        return false;
    }

    boolean idle() {
        return waiting.isEmpty() && active.isEmpty() && !barrierFlushing;
    }
}
