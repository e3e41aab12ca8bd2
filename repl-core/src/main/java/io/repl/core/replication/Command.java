package io.repl.core.replication;

/** An operator command, as replctl sends it through the driver. */
public sealed interface Command {

    /** {@code primary [--force]}. */
    record Primary(boolean force) implements Command {
    }

    /** {@code secondary [--force]}; {@code writersOpen} says whether the export has writers. */
    record Secondary(boolean force, boolean writersOpen) implements Command {
    }

    /** {@code disconnect}: close the connection and stay StandAlone. */
    record Disconnect() implements Command {
    }

    /** {@code connect [--discard-my-data]}: leave StandAlone. */
    record Connect(boolean discardMyData) implements Command {
    }

    /** {@code invalidate}: throw this copy away and fetch everything from the peer. */
    record Invalidate() implements Command {
    }

    /**
     * {@code invalidate-remote}: this copy wins; the peer's disk is resynced in full from it
     * (renegotiated on the live connection).
     */
    record InvalidateRemote() implements Command {
    }

    /** {@code new-current-uuid --clear-bitmap}: declare two fresh copies identical. */
    record NewCurrentUuidClearBitmap() implements Command {
    }

    /**
     * {@code resize [--size BYTES] [--force] [--assume-clean]}: both disks of a connected pair
     * take a new size, the smaller backing device's (or {@code sizeBytes} when not 0).
     * {@code force} allows a smaller size; {@code assumeClean} declares the new area identical
     * on both nodes.
     */
    record Resize(long sizeBytes, boolean force, boolean assumeClean) implements Command {
    }

    /**
     * {@code verify [--start OFFSET]}: online verify of this node's copy against the peer's, from
     * {@code startOffset} (a multiple of 4096) to the end; the blocks that differ are marked out
     * of sync on both nodes.
     */
    record Verify(long startOffset) implements Command {
    }

    /**
     * {@code adjust}: the resource file's resync settings changed while it runs. Checksum
     * resync and the rate controller apply from the next resync this node receives, the verify
     * digest from the next verify it starts, the after-split-brain policies from the next
     * handshake; nothing running changes.
     */
    record Adjust(SyncPolicy sync) implements Command {
    }

    /** {@code pause-sync}. */
    record PauseSync() implements Command {
    }

    /** {@code resume-sync}. */
    record ResumeSync() implements Command {
    }

    /**
     * {@code outdate}: a Secondary that is not connected marks its disk Outdated, as a remote
     * fence-peer handler asks of it. Never promoted without --force afterwards, UpToDate again
     * only through a resync.
     */
    record Outdate() implements Command {
    }

    /**
     * {@code resume-io [--force]}: a Primary holding writes goes on alone now. The operator
     * vouches that the peer cannot be promoted (it is down, or outdated by other means). With a
     * witness, the witness must record that first; {@code force} goes on without it when it is
     * unreachable (the witness is told once it is back).
     */
    record ResumeIo(boolean force) implements Command {
    }

    /**
     * {@code detach}: the node drops its data disk and goes Diskless; a Primary goes on serving
     * through its peer. The copy left on the disk is marked inconsistent, so it is resynced in
     * full after {@code attach}.
     */
    record Detach() implements Command {
    }

    /**
     * {@code attach}: a Diskless node takes the disk whose {@code metadata} the driver opened
     * (the same disk healed, or a replacement with fresh metadata) and resyncs it from its peer.
     */
    record Attach(io.repl.core.metadata.Metadata metadata) implements Command {
    }

    /**
     * An orderly stop ({@code down}, SIGTERM): a Primary demotes, the node says goodbye to its
     * peer after its last acknowledged write, and the connection closes. The driver stops the
     * front end and lets writes drain first.
     */
    record Down() implements Command {
    }
}
