package io.repl.core.replication;

import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.SuperblockFlag;
import io.repl.core.uuid.GenerationUuids;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;

/**
 * {@code detach} and {@code attach}: the operator takes the data disk away from a running
 * resource and gives it one back (the same disk healed, or a replacement), as after an I/O
 * error under {@code on-io-error = detach}.
 */
final class Attachment {
    private final CoreContext ctx;

    Attachment(CoreContext ctx) {
        this.ctx = ctx;
    }

    CommandResult detach() {
        NodeState state = ctx.state;
        if (!state.hasDisk()) {
            return CommandResult.refused("the disk is already " + state.disk.displayName(),
                    state.disk == DiskState.DISKLESS ? "attach a disk with 'replctl attach'" : "down, repair, up");
        }
        if (state.role == Role.PRIMARY && ctx.peerServes() && !ctx.peerHoldsEverything()) {
            return CommandResult.refused("the peer does not hold every write this node acknowledged yet (protocol "
                    + ctx.config.protocol() + " acknowledges before the peer has it)", "retry in a moment");
        }
        if (!ctx.peerServes()) {
            return CommandResult.refused("the peer's copy is not known to be current, so this one may be the only"
                    + " good copy (connection "
                    + state.connection.displayName() + ", peer disk "
                    + (state.peerDisk == null ? "unknown" : state.peerDisk.displayName()) + ", replication "
                    + state.replication.displayName() + ")",
                    "detach once connected to an UpToDate peer; to replace the disk of a node that is alone, down and up");
        }
        ctx.detach("detached by the operator", false);
        return CommandResult.ok();
    }

    /**
     * Takes the disk whose metadata the driver opened. Whatever the disk holds counts for
     * nothing: its generation identifiers are cleared and it is marked inconsistent, so the next
     * handshake (begun here on a live connection) resyncs it in full from the peer. A Primary
     * becomes SyncTarget for it while it serves through the peer.
     */
    CommandResult attach(Metadata attached) {
        NodeState state = ctx.state;
        if (state.disk != DiskState.DISKLESS) {
            return CommandResult.refused("the disk is " + state.disk.displayName() + "; only a Diskless node attaches one",
                    state.disk == DiskState.FAILED ? "down and up on a working disk" : "detach first");
        }
        if (!state.diskReleased) {
            return CommandResult.refused("the detached disk still has operations in flight", "retry in a moment");
        }
        long expected = ctx.meta.dataBytes();
        if (attached.layout().dataBytes() != expected) {
            return CommandResult.refused("the disk holds " + attached.layout().dataBytes() + " bytes of data, the resource "
                    + expected, "attach a disk of the resource's size");
        }
        if (attached.superblock().nodeId() != ctx.meta.nodeId()) {
            return CommandResult.refused("the metadata belongs to node id " + attached.superblock().nodeId()
                    + ", this node is " + ctx.meta.nodeId(), "attach this node's disk, or create-md on the new one");
        }
        ctx.meta.attach(attached);
        ctx.meta.update(s -> s.withUuids(GenerationUuids.EMPTY).with(SuperblockFlag.CONSISTENT, false)
                .with(SuperblockFlag.WAS_UP_TO_DATE, false).with(SuperblockFlag.DEPOSED, false)
                .with(SuperblockFlag.CRASHED_PRIMARY, false)
                .with(SuperblockFlag.PRIMARY, state.role == Role.PRIMARY));
        ctx.meta.bitmap().markAllDirty();
        ctx.meta.persistBitmap();
        if (ctx.meta.failure() != null) {
            return CommandResult.refused("the attached disk's metadata could not be written: "
                    + ctx.meta.failure().getMessage(), "repair or replace it, then attach again");
        }
        state.disk = DiskState.INCONSISTENT;
        state.diskFailure = null;
        state.diskFailureNanos = 0;
        state.diskReleased = false;
        state.attachedWhilePrimary = state.role == Role.PRIMARY;
        ctx.log("info", "attached a disk; it is resynced in full from " + ctx.peerLabel());
        if (state.connected()) {
            ctx.handshake.begin();
        }
        return CommandResult.ok();
    }
}
