package io.repl.agent.net;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** Socket files: clearing stale ones safely, and setting who may connect. */
public final class UnixSockets {
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private UnixSockets() {}

    /**
     * Makes {@code path} ready to bind: creates its directory, and removes a socket file left
     * by an agent that is gone. A socket someone still answers on, or a file that is not a
     * socket, is never removed.
     */
    public static void prepare(Path path) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            Files.createDirectories(dir);
        }
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException(path + " exists and is not a socket; refusing to replace it");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            throw new IOException(path + " is in use by a running process (another agent?)");
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().contains("in use by a running process")) {
                throw e;
            }
            Files.deleteIfExists(path);
        }
    }

    /** Owner-only (0600) for the control socket; owner and group (0660) for NBD exports. */
    public static void restrict(Path path, boolean ownerOnly) throws IOException {
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(ownerOnly ? "rw-------" : "rw-rw----"));
    }

    /** Removes a socket file this process bound; quietly, at shutdown. */
    public static void remove(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            System.getLogger(UnixSockets.class.getName())
                    .log(System.Logger.Level.WARNING, "cannot remove " + path + ": " + e.getMessage());
        }
    }
}
