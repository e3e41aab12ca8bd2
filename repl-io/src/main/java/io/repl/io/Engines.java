package io.repl.io;

import java.io.IOException;

/** Opens the engine a resource asks for, probing and falling back where it must. */
public final class Engines {
    private static final System.Logger LOG = System.getLogger(Engines.class.getName());
    /** I/O threads of the portable engine: enough to keep a disk queue busy on two cores. */
    public static final int FILECHANNEL_THREADS = 4;

    private Engines() {}

    /**
     * Opens {@code backing} with the engine {@code kind} asks for.
     *
     * @throws IOException if the backing is unusable (too small, unreadable), or if an engine
     *     that was asked for by name cannot run here
     */
    public static BlockEngine open(Backing backing, long sizeBytes, EngineKind kind) throws IOException {
        switch (kind) {
            case IO_URING:
                throw new IOException("io-engine \"io_uring\" is not available in this build; "
                        + "use \"auto\" or \"filechannel\"");
            case AUTO:
            case FILECHANNEL:
            default:
                BlockEngine e = FileChannelEngine.open(backing, sizeBytes, true, FILECHANNEL_THREADS);
                LOG.log(System.Logger.Level.INFO, "engine " + e);
                return e;
        }
    }
}
