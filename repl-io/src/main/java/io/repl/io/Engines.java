package io.repl.io;

import io.repl.io.uring.IoUringEngine;
import java.io.IOException;
import java.util.Locale;

/**
 * Opens the engine a resource asks for, probing and falling back where it must.
 *
 * <p>io_uring can be switched off without a rebuild, which is also how tests prove the
 * fallback serves: the system property {@value #DISABLE_PROPERTY}{@code =true} or the
 * environment variable {@value #DISABLE_ENV}{@code =1} make its probe fail.
 */
public final class Engines {
    /** I/O threads of the portable engine: enough to keep a disk queue busy on two cores. */
    public static final int FILECHANNEL_THREADS = 4;
    public static final String DISABLE_PROPERTY = "repl.io_uring.disable";
    public static final String DISABLE_ENV = "REPL_IO_URING_DISABLE";
    private static final System.Logger LOG = System.getLogger(Engines.class.getName());

    private Engines() {}

    /**
     * Opens {@code backing} with the engine {@code kind} asks for. AUTO tries io_uring and
     * falls back to the FileChannel engine, logging why at INFO.
     *
     * @throws IOException if the backing is unusable (too small, unreadable), or if an engine
     *     that was asked for by name cannot run here
     */
    public static BlockEngine open(Backing backing, long sizeBytes, EngineKind kind) throws IOException {
        return open(backing, sizeBytes, kind, null);
    }

    /**
     * As {@link #open(Backing, long, EngineKind)}; an io_uring engine runs on {@code loop}
     * (null: on a thread of its own). The FileChannel engine always has threads of its own.
     */
    public static BlockEngine open(Backing backing, long sizeBytes, EngineKind kind, EngineLoop loop)
            throws IOException {
        BlockEngine e;
        switch (kind) {
            case IO_URING:
                e = openIoUring(backing, sizeBytes, loop);
                break;
            case AUTO:
                e = openAuto(backing, sizeBytes, loop);
                break;
            case FILECHANNEL:
            default:
                e = FileChannelEngine.open(backing, sizeBytes, true, FILECHANNEL_THREADS);
                break;
        }
        LOG.log(System.Logger.Level.INFO, "engine " + e);
        return e;
    }

    private static BlockEngine openIoUring(Backing backing, long sizeBytes, EngineLoop loop) throws IOException {
        String disabled = disabledReason();
        if (disabled != null) {
            throw new IOException("io-engine \"io_uring\" is " + disabled + "; use \"auto\" or \"filechannel\"");
        }
        try {
            return IoUringEngine.open(backing, sizeBytes, IoUringEngine.RING_ENTRIES_DEFAULT, loop);
        } catch (IOException | LinkageError e) {
            throw new IOException("io-engine \"io_uring\" cannot run here: " + e.getMessage()
                    + "; use \"auto\" or \"filechannel\"", e);
        }
    }

    private static BlockEngine openAuto(Backing backing, long sizeBytes, EngineLoop loop) throws IOException {
        String why = disabledReason();
        if (why == null) {
            try {
                return IoUringEngine.open(backing, sizeBytes, IoUringEngine.RING_ENTRIES_DEFAULT, loop);
            } catch (IOException | LinkageError | RuntimeException e) {
                // Whatever stops io_uring here, the portable engine can still serve the volume.
                why = e.toString();
            }
        }
        LOG.log(System.Logger.Level.INFO, backing.path() + ": io_uring not used (" + why
                + "), falling back to the filechannel engine");
        return FileChannelEngine.open(backing, sizeBytes, true, FILECHANNEL_THREADS);
    }

    /** Why io_uring is switched off by configuration, or null if it is not. */
    static String disabledReason() {
        if ("true".equals(System.getProperty(DISABLE_PROPERTY, "").trim().toLowerCase(Locale.ROOT))) {
            return "disabled by -D" + DISABLE_PROPERTY + "=true";
        }
        String env = System.getenv(DISABLE_ENV);
        if (env != null && (env.trim().equals("1") || env.trim().equalsIgnoreCase("true"))) {
            return "disabled by " + DISABLE_ENV + "=" + env.trim();
        }
        return null;
    }
}
