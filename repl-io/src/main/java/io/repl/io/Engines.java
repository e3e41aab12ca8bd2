package io.repl.io;

import io.repl.io.aio.AioEngine;
import io.repl.io.uring.IoUringEngine;
import java.io.IOException;
import java.util.Locale;

/**
 * Opens the engine a resource asks for, probing and falling back where it must.
 *
 * <p>io_uring and Linux AIO can be switched off without a rebuild, which is also how tests
 * prove each fallback serves: the system property {@value #DISABLE_PROPERTY}{@code =true} or
 * the environment variable {@value #DISABLE_ENV}{@code =1} make io_uring's probe fail, and
 * {@value #LIBAIO_DISABLE_PROPERTY} or {@value #LIBAIO_DISABLE_ENV} that of AIO.
 */
public final class Engines {
    /** I/O threads of the portable engine: enough to keep a disk queue busy on two cores. */
    public static final int FILECHANNEL_THREADS = 4;
    public static final String DISABLE_PROPERTY = "repl.io_uring.disable";
    public static final String DISABLE_ENV = "REPL_IO_URING_DISABLE";
    public static final String LIBAIO_DISABLE_PROPERTY = "repl.libaio.disable";
    public static final String LIBAIO_DISABLE_ENV = "REPL_LIBAIO_DISABLE";
    private static final System.Logger LOG = System.getLogger(Engines.class.getName());

    private Engines() {}

    /**
     * Opens {@code backing} with the engine {@code kind} asks for. AUTO tries io_uring, then
     * Linux AIO, then the FileChannel engine, logging at INFO why each one was passed over.
     *
     * @throws IOException if the backing is unusable (too small, unreadable), or if an engine
     *     that was asked for by name cannot run here
     */
    public static BlockEngine open(Backing backing, long sizeBytes, EngineKind kind) throws IOException {
        return open(backing, sizeBytes, kind, null);
    }

    /**
     * As {@link #open(Backing, long, EngineKind)}; an io_uring engine runs on {@code loop}, and
     * a libaio engine's completions are reaped by it (null: by a thread of the engine's own).
     * The FileChannel engine always has threads of its own.
     */
    public static BlockEngine open(Backing backing, long sizeBytes, EngineKind kind, EngineLoop loop)
            throws IOException {
        BlockEngine e;
        switch (kind) {
            case IO_URING:
                e = openIoUring(backing, sizeBytes, loop);
                break;
            case LIBAIO:
                e = openAio(backing, sizeBytes, loop);
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
            throw new IOException("io-engine \"io_uring\" is " + disabled + "; use \"auto\", \"libaio\" or \"filechannel\"");
        }
        try {
            return IoUringEngine.open(backing, sizeBytes, IoUringEngine.RING_ENTRIES_DEFAULT, loop);
        } catch (IOException | LinkageError e) {
            throw new IOException("io-engine \"io_uring\" cannot run here: " + e.getMessage()
                    + "; use \"auto\", \"libaio\" or \"filechannel\"", e);
        }
    }

    private static BlockEngine openAio(Backing backing, long sizeBytes, EngineLoop loop) throws IOException {
        String disabled = disabledReason(LIBAIO_DISABLE_PROPERTY, LIBAIO_DISABLE_ENV);
        if (disabled != null) {
            throw new IOException("io-engine \"libaio\" is " + disabled + "; use \"auto\" or \"filechannel\"");
        }
        try {
            return AioEngine.open(backing, sizeBytes, AioEngine.SLOTS_DEFAULT, loop);
        } catch (IOException | LinkageError e) {
            throw new IOException("io-engine \"libaio\" cannot run here: " + e.getMessage()
                    + "; use \"auto\" or \"filechannel\"", e);
        }
    }

    private static BlockEngine openAuto(Backing backing, long sizeBytes, EngineLoop loop) throws IOException {
        String why = disabledReason();
        if (why == null) {
            try {
                return IoUringEngine.open(backing, sizeBytes, IoUringEngine.RING_ENTRIES_DEFAULT, loop);
            } catch (IOException | LinkageError | RuntimeException e) {
                // Whatever stops io_uring here, another engine can still serve the volume.
                why = e.toString();
            }
        }
        LOG.log(System.Logger.Level.INFO, backing.path() + ": io_uring not used (" + why + ")");
        why = disabledReason(LIBAIO_DISABLE_PROPERTY, LIBAIO_DISABLE_ENV);
        if (why == null) {
            try {
                return AioEngine.open(backing, sizeBytes, AioEngine.SLOTS_DEFAULT, loop);
            } catch (IOException | LinkageError | RuntimeException e) {
                why = e.toString();
            }
        }
        LOG.log(System.Logger.Level.INFO, backing.path() + ": libaio not used (" + why
                + "), falling back to the filechannel engine");
        return FileChannelEngine.open(backing, sizeBytes, true, FILECHANNEL_THREADS);
    }

    /** Why io_uring is switched off by configuration, or null if it is not. */
    static String disabledReason() {
        return disabledReason(DISABLE_PROPERTY, DISABLE_ENV);
    }

    /** Why an engine is switched off by the system property or environment variable, or null. */
    private static String disabledReason(String property, String envName) {
        if ("true".equals(System.getProperty(property, "").trim().toLowerCase(Locale.ROOT))) {
            return "disabled by -D" + property + "=true";
        }
        String env = System.getenv(envName);
        if (env != null && (env.trim().equals("1") || env.trim().equalsIgnoreCase("true"))) {
            return "disabled by " + envName + "=" + env.trim();
        }
        return null;
    }
}
