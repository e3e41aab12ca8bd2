package io.repl.core.replication;

import io.repl.core.metadata.MetaPlacement;
import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.MetadataLayout;
import io.repl.protocol.DeviceSizes;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import java.io.IOException;

/**
 * Online resize of a connected pair ({@code replctl resize}), in two SIZES messages: the
 * initiator asks with its disk's capacity, the peer computes the new size from both capacities
 * ({@link #newSize}, which both sides run alike), resizes and answers; the initiator resizes on
 * the answer. Each side resizes its metadata through the driver
 * ({@link CoreActions#resizeDisk}), which also bounds its disk I/O and export to the new size.
 * Then both run the bitmap exchange on the live connection: the new area, marked out of sync
 * unless the operator declared it clean, goes from the Primary (else from the initiator) to the
 * other node, as any resync.
 *
 * <p>Only an Established pair with both disks UpToDate resizes: no resync, no handshake, no
 * Ahead/Behind. The initiator's peer never sees a write past the old end before it has resized
 * itself: the initiator exposes the new size only after the answer, and messages keep their order.
 *
 * <p>The node that takes the new area is a resync target, Inconsistent until the resync ends,
 * and an Inconsistent disk is never a source: should the connection end first, the next
 * handshake syncs it whole from the other. So it must hold no write the other lacks. A node
 * that was Primary a moment ago may still: writes it sent that the peer has not flushed yet
 * (under protocol A acknowledged on sending, and lost if the link dropped them). Such a node
 * refuses to be the target until its last writes are flushed on the peer (the next barrier).
 */
public final class Resize {
    private final CoreContext ctx;
    /** The initiator's request while it waits for the answer, else null. */
    private Command.Resize asking;
    private boolean peerGrew;

    Resize(CoreContext ctx) {
        this.ctx = ctx;
    }

    /** Why the new size cannot be {@code requested}, or the new size. */
    public record Outcome(long sizeBytes, String refusal) {
    }

    /**
     * The size both disks take after a resize: the smaller capacity, or {@code requested} when
     * given and no larger; smaller than now only with {@code force}. Pure, so both nodes compute
     * the same answer from the same inputs.
     */
    public static Outcome newSize(long currentBytes, long ourCapacity, long peerCapacity, long requested, boolean force,
                           String peerLabel) {
        long both = Math.min(ourCapacity, peerCapacity);
        both -= both % ByteRange.BLOCK_BYTES;
        long target = both;
        if (requested > 0) {
            if (requested % ByteRange.BLOCK_BYTES != 0) {
                return new Outcome(0, "the size " + requested + " is not a multiple of 4096 bytes");
            }
            if (requested > both) {
                return new Outcome(0, "the size " + requested + " bytes is more than the disks offer: this node "
                        + ourCapacity + " bytes, " + peerLabel + " " + peerCapacity
                        + " bytes; grow the backing devices first");
            }
            target = requested;
        }
        if (target < currentBytes && !force) {
            return new Outcome(0, "the new size " + target + " bytes is smaller than the current " + currentBytes
                    + " bytes (this node offers " + ourCapacity + ", " + peerLabel + " " + peerCapacity
                    + "): shrinking drops the data past the new end. Shrink the file system first, then resize"
                    + " --size with --force; or grow the smaller backing device");
        }
        return new Outcome(target, null);
    }

    /** Why this node cannot take part in a resize now, or null. */
    private String busy() {
        NodeState s = ctx.state;
        if (!s.connected()) {
            return "not connected: both nodes resize together, so the peer must be connected";
        }
        if (asking != null) {
            return "a resize is already waiting for the peer's answer";
        }
        if (ctx.handshake.active() || s.replication != ReplicationState.ESTABLISHED) {
            return "the pair is " + s.replication.displayName()
                    + ", not Established (a resync, a handshake or Ahead/Behind runs)";
        }
        if (s.disk != DiskState.UP_TO_DATE || s.peerDisk != DiskState.UP_TO_DATE) {
            return "both disks must be UpToDate (this node " + s.disk.displayName() + ", the peer "
                    + (s.peerDisk == null ? "unknown" : s.peerDisk.displayName()) + ")";
        }
        if (ctx.meta.failure() != null) {
            return ctx.meta.failure().getMessage();
        }
        return null;
    }

    CommandResult command(Command.Resize command) {
        String busy = busy();
        if (busy == null && wouldBeTarget(true)) {
            busy = unconfirmedWrites();
        }
        if (busy != null) {
            return CommandResult.refused(busy, "wait until status shows both UpToDate and Established");
        }
        long capacity = ctx.actions.diskCapacityBytes();
        if (capacity <= 0) {
            return CommandResult.refused("this node's disk cannot be resized online", "");
        }
        // What this node alone can tell (a shrink without --force, a size past our own capacity).
        Outcome alone = newSize(ctx.meta.dataBytes(), capacity, Long.MAX_VALUE, command.sizeBytes(),
                command.force(), "the peer");
        if (alone.refusal() != null) {
            return CommandResult.refused(alone.refusal(), "");
        }
        String here = command.sizeBytes() > 0 ? refusal(command.sizeBytes()) : null;
        if (here != null) {
            return CommandResult.refused(here, "");
        }
        int flags = DeviceSizes.RESIZE_REQUEST | (command.assumeClean() ? DeviceSizes.ASSUME_CLEAN : 0)
                | (command.force() ? DeviceSizes.FORCE : 0);
        asking = command;
        ctx.send(new DeviceSizes(command.sizeBytes(), ctx.config.requestBytesMax(), ByteRange.BLOCK_BYTES,
                capacity, flags));
        ctx.log("info", "resize: asking " + ctx.peerLabel() + " (this disk offers " + capacity + " bytes"
                + (command.sizeBytes() > 0 ? ", size " + command.sizeBytes() + " asked" : "") + ")");
        return CommandResult.pending();
    }

    /**
     * Whether this node takes the new area from the other: the Secondary of a pair with a
     * Primary, else (both Secondary) the node that did not ask.
     */
    private boolean wouldBeTarget(boolean initiator) {
        if (ctx.state.role == Role.PRIMARY) {
            return false;
        }
        return ctx.state.peerRole == Role.PRIMARY || !initiator;
    }

    /** Why this node may not become a resync target yet: writes of its own the peer has not flushed; else null. */
    private String unconfirmedWrites() {
        if (!ctx.writePath.awaitsPeer()) {
            return null;
        }
        return "this node was Primary a moment ago and " + ctx.peerLabel() + " has not yet flushed all its"
                + " writes; taking the new area would make this disk Inconsistent while it holds writes the peer"
                + " may lack (retry in a moment, after the next barrier)";
    }

    /** This node's capacity as SIZES carries it: 4 KiB-aligned, 0 when unknown. */
    long capacityBytes() {
        long capacity = Math.max(ctx.actions.diskCapacityBytes(), 0);
        return capacity - capacity % ByteRange.BLOCK_BYTES;
    }

    /**
     * The handshake found different sizes: an online resize that ended with the connection
     * between the peer's resize and ours, or backing devices grown while apart. The smaller side
     * grows to the larger size when its disk offers it (never does either shrink), with the new
     * area out of sync; both sides decide the same from the two SIZES. Returns whether the sizes
     * now agree (or will, once the peer grew).
     */
    boolean growOnConnect(DeviceSizes peer) {
        long ours = ctx.meta.dataBytes();
        long theirs = peer.deviceBytes();
        peerGrew = false;
        if (ours == 0 || theirs == 0 || !ctx.state.hasDisk()) {
            return false;
        }
        if (ours > theirs) {
            peerGrew = peer.capacityBytes() >= ours;
            if (peerGrew) {
                ctx.log("info", "resize: " + ctx.peerLabel() + " grows from " + theirs + " to " + ours + " bytes");
            }
            return peerGrew;
        }
        if (capacityBytes() < theirs || refusal(theirs) != null) {
            return false;
        }
        ctx.log("info", "resize: growing to " + ctx.peerLabel() + "'s size on connect");
        return apply(theirs, false);
    }

    /** Whether the last {@link #growOnConnect} had the peer grow (this side was the larger). */
    boolean peerGrewOnConnect() {
        return peerGrew;
    }

    /** A SIZES that is a step of a resize. */
    void onSizes(DeviceSizes sizes) {
        if (sizes.has(DeviceSizes.RESIZE_REQUEST)) {
            onRequest(sizes);
        } else {
            onAnswer(sizes);
        }
    }

    private void onRequest(DeviceSizes request) {
        String busy = busy();
        if (busy == null && wouldBeTarget(false)) {
            busy = unconfirmedWrites();
        }
        long capacity = busy == null ? ctx.actions.diskCapacityBytes() : 0;
        Outcome outcome = busy != null ? new Outcome(0, busy)
                : capacity <= 0 ? new Outcome(0, "this node's disk cannot be resized online")
                : newSize(ctx.meta.dataBytes(), capacity, request.capacityBytes(), request.deviceBytes(),
                        request.has(DeviceSizes.FORCE), ctx.peerLabel());
        if (outcome.refusal() != null) {
            ctx.log("warn", "resize asked by " + ctx.peerLabel() + " refused: " + outcome.refusal());
            ctx.send(new DeviceSizes(ctx.meta.dataBytes(), ctx.config.requestBytesMax(), ByteRange.BLOCK_BYTES,
                    Math.max(capacity, 0), DeviceSizes.RESIZE_REFUSED));
            return;
        }
        String refused = refusal(outcome.sizeBytes());
        if (refused != null) {
            ctx.send(new DeviceSizes(ctx.meta.dataBytes(), ctx.config.requestBytesMax(), ByteRange.BLOCK_BYTES,
                    capacity, DeviceSizes.RESIZE_REFUSED));
            return;
        }
        boolean source = ctx.state.role == Role.PRIMARY;
        boolean changed = outcome.sizeBytes() != ctx.meta.dataBytes();
        if (!apply(outcome.sizeBytes(), request.has(DeviceSizes.ASSUME_CLEAN))) {
            return;
        }
        ctx.send(new DeviceSizes(outcome.sizeBytes(), ctx.config.requestBytesMax(), ByteRange.BLOCK_BYTES, capacity,
                DeviceSizes.RESIZE_DONE));
        if (changed) {
            ctx.handshake.resyncAfterResize(!source);
        }
    }

    private void onAnswer(DeviceSizes answer) {
        Command.Resize command = asking;
        if (command == null) {
            ctx.protocolError("a resize answer nobody asked for");
            return;
        }
        asking = null;
        long capacity = ctx.actions.diskCapacityBytes();
        Outcome outcome = newSize(ctx.meta.dataBytes(), capacity, answer.capacityBytes(), command.sizeBytes(),
                command.force(), ctx.peerLabel());
        if (answer.has(DeviceSizes.RESIZE_REFUSED)) {
            String why = outcome.refusal() != null ? outcome.refusal()
                    : ctx.peerLabel() + " refused (its log says why: it was busy, or its disk cannot resize)";
            ctx.actions.commandCompleted(CommandResult.refused(why, "check status on both nodes and retry"));
            return;
        }
        if (outcome.refusal() != null || outcome.sizeBytes() != answer.deviceBytes()) {
            ctx.close(io.repl.protocol.DisconnectReason.PROTOCOL_ERROR, "resize: " + ctx.peerLabel() + " resized to "
                    + answer.deviceBytes() + " bytes, this node computes " + outcome, true);
            ctx.actions.commandCompleted(CommandResult.refused("the nodes disagree on the new size",
                    "check the backing devices and the logs of both nodes"));
            return;
        }
        // The disk may have been detached (a failed write) while the peer resized: there is no
        // disk here to take the new size, and the handshake on the next connection compares sizes.
        boolean source = !wouldBeTarget(true);
        String refused = !ctx.state.hasDisk() ? "this node's disk was detached while the resize was under way"
                : source ? refusal(outcome.sizeBytes())
                : unconfirmedWrites() != null ? unconfirmedWrites() : refusal(outcome.sizeBytes());
        boolean changed = outcome.sizeBytes() != ctx.meta.dataBytes();
        if (refused != null || !apply(outcome.sizeBytes(), command.assumeClean())) {
            ctx.close(io.repl.protocol.DisconnectReason.PROTOCOL_ERROR, "resize failed after "
                    + ctx.peerLabel() + " resized: " + (refused != null ? refused : "metadata"), true);
            ctx.actions.commandCompleted(CommandResult.refused("this node could not resize after "
                    + ctx.peerLabel() + " did" + (refused != null ? ": " + refused : ""),
                    "check the logs; the sizes now differ until both are resized"));
            return;
        }
        ctx.actions.commandCompleted(CommandResult.ok());
        if (changed) {
            ctx.handshake.resyncAfterResize(!source);
        }
    }

    /**
     * Why this node cannot take {@code newBytes} now: its disk says no, or a shrink would cut
     * off a write still in flight past the new end.
     */
    private String refusal(long newBytes) {
        if (newBytes == ctx.meta.dataBytes()) {
            return null;
        }
        String disk = ctx.actions.resizeRefusal(newBytes);
        if (disk != null) {
            return disk;
        }
        if (newBytes > ctx.meta.dataBytes()) {
            return null;
        }
        if (ctx.meta.writesInFlightFrom(newBytes)) {
            ctx.log("warn", "resize: writes are in flight past the new end " + newBytes);
            return "writes are in flight past the new end";
        }
        return null;
    }

    /** Resizes this node's metadata and disk; false when its metadata failed. */
    private boolean apply(long newBytes, boolean assumeClean) {
        long oldBytes = ctx.meta.dataBytes();
        if (newBytes == oldBytes) {
            ctx.log("info", "resize: the size stays " + oldBytes + " bytes: the backing devices offer no more"
                    + " (internal metadata needs the device to grow by at least its own size)");
            return true;
        }
        MetadataLayout old = ctx.meta.layout();
        long[] dirty = new long[0];
        if (newBytes > oldBytes) {
            if (!assumeClean) {
                dirty = new long[] {oldBytes, newBytes - oldBytes};
            } else if (old.placement() == MetaPlacement.INTERNAL) {
                // The old metadata area is data now, and differs between the nodes whatever the
                // operator promised about the rest.
                dirty = new long[] {oldBytes, Math.min(old.areaBytes(), newBytes - oldBytes)};
            }
        }
        try {
            Metadata resized = ctx.actions.resizeDisk(ctx.meta.metadata(), newBytes, dirty);
            ctx.meta.resized(resized);
        } catch (IOException e) {
            ctx.meta.fail("resize", e);
            return false;
        }
        ctx.log("info", "resize: " + oldBytes + " -> " + newBytes + " bytes" + (newBytes > oldBytes
                ? (assumeClean ? ", the new area declared clean" : ", the new area marked out of sync") : ""));
        return true;
    }

    /** The connection ended: a resize still waiting for the answer fails. */
    void onPeerLost() {
        if (asking != null) {
            asking = null;
            ctx.actions.commandCompleted(CommandResult.refused("the connection ended before the peer answered the"
                    + " resize", "compare the sizes in the logs of both nodes; if they differ, connect and resize"
                    + " again"));
        }
    }
}
