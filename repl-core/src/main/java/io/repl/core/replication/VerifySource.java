package io.repl.core.replication;

import io.repl.core.metadata.DirtyBitmap;
import io.repl.protocol.Digest;
import io.repl.protocol.DigestAlgorithm;
import io.repl.protocol.DiskState;
import io.repl.protocol.OutOfSync;
import io.repl.protocol.ResyncNegativeAck;
import io.repl.protocol.Role;
import io.repl.protocol.VerifyReply;
import io.repl.protocol.VerifyRequest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The VerifySource side of online verify ({@code replctl verify}), on the node where the operator
 * ran it, Primary or Secondary. It walks the device from a start offset, keeps a bounded window of
 * OV_REQUESTs outstanding, reads its own copy of each range once the peer's digest arrived, and
 * compares. A range that differs is asked for again block by block (4 KiB, the bitmap's granule),
 * so exactly the blocks that differ are marked out of sync: in this node's bitmap and, through
 * OUT_OF_SYNC, in the peer's. Verify repairs nothing: a disconnect and connect resyncs the marked
 * blocks (from a Primary, which starts a new generation when it loses the peer).
 *
 * <p>No false positives while the application writes. The digest the peer sends covers every
 * write to the range that came before the request; this node's read covers the same writes and
 * no later one:
 * <ul>
 *   <li>a request is sent only when none of this node's own writes to its blocks is running, and
 *       from then until the local read finished new front-end writes to them wait in admission
 *       (this node's DATA for the range is then on the wire before the OV_REQUEST, and the peer
 *       applies it before it reads);</li>
 *   <li>the local read starts when the OV_REPLY has arrived and every DATA from the peer received
 *       before it that touches the range is on the disk; DATA for the range received after it
 *       waits until the read finished (the peer's writes after its read travel behind its
 *       OV_REPLY).</li>
 * </ul>
 * The peer's side of the rule is {@link VerifyTarget}.
 *
 * <p>Verify runs only on an Established pair with both disks UpToDate, and stops on a disconnect,
 * a role change of either node, a disk of either node that is no longer UpToDate, or anything
 * that leaves Established (a resync, Ahead). A stopped verify logs the offset to resume from.
 */
final class VerifySource {
    /** Ranges named in the log and in the handlers' environment; the rest are counted. */
    static final int RANGES_LISTED = 16;
    private final CoreContext ctx;
    private final TreeMap<Long, Probe> outstanding = new TreeMap<>();
    private final ArrayDeque<Probe> refinements = new ArrayDeque<>();
    /** Requests of a stopped verify still to be answered: offset to length. Their answers are dropped. */
    private final TreeMap<Long, Long> draining = new TreeMap<>();
    private final List<Parent> parents = new ArrayList<>();
    private final SyncMeter meter = new SyncMeter();
    private boolean running;
    private long session;
    private DigestAlgorithm algorithm;
    private long startOffset;
    private long cursor;
    private long end;
    private Role role;
    private Role peerRole;
    /** The next request, waiting for this node's running writes to its blocks; it holds new ones. */
    private Probe next;
    private DirtyBitmap found;
    private int runsLogged;

    /** One OV_REQUEST: sent, answered, read. */
    private static final class Probe {
        final ByteRange range;
        final Parent parent;
        /** The arrival number of the first peer write after the OV_REPLY; -1 until it came. */
        long mark = -1;
        Digest peer;
        boolean reading;

        Probe(ByteRange range, Parent parent) {
            this.range = range;
            this.parent = parent;
        }
    }

    /** A range whose digests differed, asked for again block by block. */
    private static final class Parent {
        final ByteRange range;
        int left;
        final List<Long> differing = new ArrayList<>();

        Parent(ByteRange range, int left) {
            this.range = range;
            this.left = left;
        }
    }

    VerifySource(CoreContext ctx) {
        this.ctx = ctx;
    }

    /** {@code verify [--start OFFSET]}: refused unless the pair can be compared now. */
    CommandResult start(long offset) {
        NodeState s = ctx.state;
        long bytes = ctx.meta.dataBytes();
        if (offset < 0 || offset % ByteRange.BLOCK_BYTES != 0 || offset >= bytes) {
            return CommandResult.badArgument("the start offset " + offset + " is not a multiple of "
                    + ByteRange.BLOCK_BYTES + " inside the device (" + bytes + " bytes)",
                    "give --start a multiple of 4096 below " + bytes);
        }
        String refusal = refusal();
        if (refusal != null) {
            return CommandResult.refused(refusal, "run verify once the pair is Connected and Established with both"
                    + " disks UpToDate (replctl wait-sync)");
        }
        if (!draining.isEmpty()) {
            return CommandResult.refused("the previous verify still waits for " + draining.size()
                    + " answers from " + ctx.peerLabel(), "try again in a moment");
        }
        running = true;
        session++;
        algorithm = ctx.config.sync().verifyAlgorithm();
        startOffset = offset;
        cursor = offset;
        end = bytes;
        role = s.role;
        peerRole = s.peerRole;
        found = new DirtyBitmap(bytes);
        runsLogged = 0;
        meter.start(end - startOffset, ctx.nowNanos);
        ctx.log("info", "online verify (" + algorithm + ") of " + ctx.peerLabel() + " from offset " + offset
                + " to " + end + ": VerifyS");
        pump();
        return CommandResult.ok();
    }

    private String refusal() {
        NodeState s = ctx.state;
        if (!s.connected()) {
            return "not connected to " + ctx.peerLabel() + " (" + s.connection.displayName() + ")";
        }
        if (running) {
            return "a verify is already running on this node";
        }
        if (ctx.verifyTarget.active()) {
            return ctx.peerLabel() + " is verifying this resource";
        }
        if (s.replication.isSource() || s.replication.isTarget()) {
            return "a resync is running (" + s.replication.displayName() + ")";
        }
        if (s.replication != ReplicationState.ESTABLISHED || ctx.handshake.active()) {
            return "not Established (" + s.replication.displayName() + ")";
        }
        if (s.disk != DiskState.UP_TO_DATE) {
            return "the local disk is " + s.disk.displayName() + ", not UpToDate";
        }
        if (s.peerDisk != DiskState.UP_TO_DATE) {
            return "the peer's disk is " + (s.peerDisk == null ? "unknown" : s.peerDisk.displayName())
                    + ", not UpToDate";
        }
        return null;
    }

    /** How many requests may be outstanding: the pacing decision, in one place. */
    private int window() {
        return ctx.config.resyncWindow();
    }

    private int rangeBytes() {
        return Math.min(ctx.config.requestBytesMax(), VerifyTarget.RANGE_BYTES_MAX);
    }

    /** Sends requests while the window has room, then reads answered ranges whose writes landed. */
    void pump() {
        if (!running) {
            return;
        }
        while (outstanding.size() < window()) {
            if (next == null) {
                next = nextProbe();
                if (next == null) {
                    break;
                }
            }
            if (ctx.writePath.overlapsLocal(next.range)) {
                // This node's write to these blocks is running: once it is done its DATA is on
                // the wire ahead of the request. Meanwhile new writes to them wait (holds).
                break;
            }
            Probe probe = next;
            next = null;
            outstanding.put(probe.range.offset(), probe);
            ctx.send(new VerifyRequest(probe.range.offset(), (int) probe.range.length(), algorithm));
        }
        for (Probe probe : new ArrayList<>(outstanding.values())) {
            if (probe.peer != null && !probe.reading && !ctx.writePath.overlapsLocal(probe.range)
                    && !ctx.peerWrites.overlapsPendingBefore(probe.range, probe.mark)) {
                read(probe);
            }
        }
        maybeFinish();
    }

    private Probe nextProbe() {
        if (!refinements.isEmpty()) {
            return refinements.pollFirst();
        }
        if (cursor >= end) {
            return null;
        }
        long length = Math.min(rangeBytes(), end - cursor);
        Probe probe = new Probe(new ByteRange(cursor, length), null);
        cursor += length;
        return probe;
    }

    /** An OV_REPLY; false if it answers no request of this node (a protocol error was raised). */
    void onReply(VerifyReply reply) {
        if (dropDrained(reply.offset(), reply.length())) {
            return;
        }
        Probe probe = outstanding.get(reply.offset());
        if (!running || probe == null || probe.range.length() != reply.length() || probe.peer != null) {
            ctx.protocolError("OV_REPLY " + reply.offset() + "+" + reply.length() + " answers no outstanding OV_REQUEST");
            return;
        }
        if (reply.digest().algorithm() != algorithm) {
            ctx.protocolError("OV_REPLY carries a " + reply.digest().algorithm() + " digest; " + algorithm
                    + " was asked for");
            return;
        }
        probe.peer = reply.digest();
        probe.mark = ctx.peerWrites.nextArrival();
        pump();
    }

    /** RS_NEG_ACK answering one of this node's OV_REQUESTs; false if it answers none (a resync's then). */
    boolean onNegativeAck(ResyncNegativeAck ack) {
        if (dropDrained(ack.offset(), ack.length())) {
            return true;
        }
        Probe probe = outstanding.get(ack.offset());
        if (!running || probe == null || probe.range.length() != ack.length() || probe.peer != null) {
            return false;
        }
        outstanding.remove(ack.offset());
        stop(ctx.peerLabel() + " could not read " + probe.range + " (errno " + ack.errno() + ")", probe.range.offset());
        return true;
    }

    private boolean dropDrained(long offset, long length) {
        Long drained = draining.get(offset);
        if (drained != null && drained == length) {
            draining.remove(offset);
            return true;
        }
        return false;
    }

    private void read(Probe probe) {
        probe.reading = true;
        long current = session;
        ctx.io.submit(DiskIo.Kind.READ, probe.range, null, false, (errno, data) -> {
            if (session == current) {
                outstanding.remove(probe.range.offset());
                if (errno == Errno.OK) {
                    compare(probe, Digest.of(algorithm, data));
                } else {
                    String why = "verify read " + probe.range + " failed with errno " + errno;
                    ctx.log("error", why);
                    stop("the local read of " + probe.range + " failed (errno " + errno + ")", probe.range.offset());
                    ctx.diskError(why);
                }
            }
            ctx.writePath.pump();
            ctx.peerWrites.pump();
            pump();
        });
    }

    private void compare(Probe probe, Digest local) {
        if (local.matches(probe.peer)) {
            childDone(probe, false);
            return;
        }
        int blocks = (int) (probe.range.endBlock() - probe.range.firstBlock());
        if (blocks > 1) {
            // Which blocks differ? Ask again for each, ahead of the walk.
            Parent parent = new Parent(probe.range, blocks);
            parents.add(parent);
            for (long block = probe.range.endBlock() - 1; block >= probe.range.firstBlock(); block--) {
                refinements.addFirst(new Probe(new ByteRange(block * ByteRange.BLOCK_BYTES, ByteRange.BLOCK_BYTES),
                        parent));
            }
            return;
        }
        if (probe.parent == null) {
            report(List.of(probe.range.offset()));
            return;
        }
        childDone(probe, true);
    }

    private void childDone(Probe probe, boolean differs) {
        Parent parent = probe.parent;
        if (parent == null) {
            return;
        }
        if (differs) {
            parent.differing.add(probe.range.offset());
        }
        if (--parent.left == 0) {
            parents.remove(parent);
            report(parent.differing);
        }
    }

    /** Marks the blocks at {@code offsets} out of sync here and at the peer, in merged runs. */
    private void report(List<Long> offsets) {
        if (offsets.isEmpty()) {
            return;
        }
        List<Long> sorted = new ArrayList<>(offsets);
        sorted.sort(null);
        long runStart = -1;
        long runEnd = -1;
        for (long offset : sorted) {
            if (offset == runEnd) {
                runEnd += ByteRange.BLOCK_BYTES;
                continue;
            }
            markRun(runStart, runEnd);
            runStart = offset;
            runEnd = offset + ByteRange.BLOCK_BYTES;
        }
        markRun(runStart, runEnd);
        ctx.meta.persistBitmap();
    }

    private void markRun(long start, long endExclusive) {
        if (start < 0) {
            return;
        }
        long length = endExclusive - start;
        found.markDirty(start, length);
        ctx.meta.bitmap().markDirty(start, length);
        ctx.sendOn(ctx.state.connectionGeneration, new OutOfSync(start, (int) length));
        if (runsLogged++ < RANGES_LISTED) {
            ctx.log("warn", "verify: " + start + "+" + length + " differs from " + ctx.peerLabel() + "'s copy");
        }
    }

    private void maybeFinish() {
        if (running && next == null && refinements.isEmpty() && outstanding.isEmpty() && cursor >= end) {
            finish();
        }
    }

    private void finish() {
        running = false;
        meter.stop();
        ctx.meta.persistBitmap();
        long blocks = found.dirtyBlocks();
        String ranges = ranges();
        if (blocks == 0) {
            ctx.log("info", "online verify finished from offset " + startOffset + ": 0 blocks out of sync");
        } else {
            ctx.log("warn", "online verify finished from offset " + startOffset + ": " + blocks + " blocks ("
                    + found.dirtyBytes() + " bytes) out of sync: " + ranges + "; disconnect and connect to resync them");
        }
        String[] env = {"REPL_VERIFY_START", Long.toString(startOffset), "REPL_VERIFY_ALG", algorithm.name(),
            "REPL_OOS_BLOCKS", Long.toString(blocks), "REPL_OOS_BYTES", Long.toString(found.dirtyBytes()),
            "REPL_OOS_RANGES", ranges};
        if (blocks > 0) {
            ctx.hook(Hook.OUT_OF_SYNC, env);
        }
        ctx.hook(Hook.AFTER_VERIFY, env);
    }

    /** The first {@link #RANGES_LISTED} runs found, "offset+length" each, then "and N more". */
    private String ranges() {
        StringBuilder text = new StringBuilder();
        int listed = 0;
        int more = 0;
        long block = found.nextDirtyBlock(0);
        while (block >= 0) {
            long endBlock = found.nextCleanBlock(block);
            if (endBlock < 0) {
                endBlock = found.blocks();
            }
            if (listed < RANGES_LISTED) {
                text.append(listed == 0 ? "" : " ").append(block * ByteRange.BLOCK_BYTES).append('+')
                        .append((endBlock - block) * ByteRange.BLOCK_BYTES);
                listed++;
            } else {
                more++;
            }
            block = endBlock >= found.blocks() ? -1 : found.nextDirtyBlock(endBlock);
        }
        if (more > 0) {
            text.append(" and ").append(more).append(" more");
        }
        return text.toString();
    }

    /** After every event: a verify whose pair changed stops. */
    void afterEvent() {
        if (!running) {
            return;
        }
        NodeState s = ctx.state;
        String why = null;
        if (!s.connected()) {
            why = "the connection is gone";
        } else if (s.replication != ReplicationState.ESTABLISHED || ctx.handshake.active()) {
            why = "the pair left Established (" + s.replication.displayName() + ")";
        } else if (s.role != role || s.peerRole != peerRole) {
            why = "a role changed (this node " + s.role.displayName() + ", the peer "
                    + (s.peerRole == null ? "unknown" : s.peerRole.displayName()) + ")";
        } else if (s.disk != DiskState.UP_TO_DATE || s.peerDisk != DiskState.UP_TO_DATE) {
            why = "a disk is no longer UpToDate (ours " + s.disk.displayName() + ", the peer's "
                    + (s.peerDisk == null ? "unknown" : s.peerDisk.displayName()) + ")";
        }
        if (why != null) {
            stop(why, Long.MAX_VALUE);
        }
    }

    /**
     * Stops a running verify: blocks found so far stay marked, answers still due are dropped, and
     * the log names the offset to resume from ({@code notBefore} at most).
     */
    private void stop(String why, long notBefore) {
        if (!running) {
            return;
        }
        long resume = Math.min(notBefore, cursor);
        if (next != null) {
            resume = Math.min(resume, next.range.offset());
        }
        for (Probe probe : refinements) {
            resume = Math.min(resume, probe.range.offset());
        }
        for (Probe probe : outstanding.values()) {
            resume = Math.min(resume, probe.range.offset());
            if (probe.peer == null) {
                draining.put(probe.range.offset(), probe.range.length());
            }
        }
        for (Parent parent : parents) {
            report(parent.differing);
        }
        running = false;
        session++;
        outstanding.clear();
        refinements.clear();
        parents.clear();
        next = null;
        meter.stop();
        ctx.meta.persistBitmap();
        ctx.log("warn", "online verify stopped: " + why + "; " + found.dirtyBlocks() + " blocks found out of sync"
                + " so far; resume with: replctl verify " + ctx.config.resourceName() + " --start " + resume);
    }

    void onPeerLost() {
        stop("the connection was lost", Long.MAX_VALUE);
        draining.clear();
    }

    /** Whether a front-end write to {@code range} must wait: a request for its blocks is out or about to go. */
    boolean holdsFrontWrite(ByteRange range) {
        if (next != null && next.range.sharesBlockWith(range)) {
            return true;
        }
        for (Probe probe : outstanding.values()) {
            if (probe.range.sharesBlockWith(range)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the peer's write number {@code arrival} to {@code range} must wait for a verify read. */
    boolean holdsPeerWrite(ByteRange range, long arrival) {
        for (Probe probe : outstanding.values()) {
            if (probe.mark >= 0 && arrival >= probe.mark && probe.range.sharesBlockWith(range)) {
                return true;
            }
        }
        return false;
    }

    boolean running() {
        return running;
    }

    SyncProgress progress() {
        long resume = cursor;
        if (!outstanding.isEmpty()) {
            resume = Math.min(resume, outstanding.firstKey());
        }
        return meter.progress(end - resume, ctx.nowNanos);
    }

    boolean idle() {
        return outstanding.isEmpty() && draining.isEmpty();
    }
}
