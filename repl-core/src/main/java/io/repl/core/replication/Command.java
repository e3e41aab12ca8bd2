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

    /** {@code new-current-uuid --clear-bitmap}: declare two fresh copies identical. */
    record NewCurrentUuidClearBitmap() implements Command {
    }

    /** {@code pause-sync}. */
    record PauseSync() implements Command {
    }

    /** {@code resume-sync}. */
    record ResumeSync() implements Command {
    }
}
