package io.repl.agent;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An exclusive claim on a backing disk, so that two agents, or two resources of one agent,
 * never write the same disk. A POSIX record lock: released by the kernel when the process
 * dies, so a killed agent never leaves a stale claim.
 */
final class DiskLock implements AutoCloseable {
    /** Which resource of this process holds which disk, for a helpful refusal. */
    private static final Map<Path, String> HOLDERS = new ConcurrentHashMap<>();

    private final Path disk;
    private final FileChannel channel;
    private final FileLock lock;

    private DiskLock(Path disk, FileChannel channel, FileLock lock) {
        this.disk = disk;
        this.channel = channel;
        this.lock = lock;
    }

    static DiskLock acquire(Path disk, String resource) throws IOException {
        Path key = disk.toRealPath();
        String holder = HOLDERS.putIfAbsent(key, resource);
        if (holder != null) {
            throw new IOException(disk + " is already the disk of resource " + holder
                    + "; each resource needs its own disk");
        }
        FileChannel ch = null;
        try {
            ch = FileChannel.open(key, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock l = ch.tryLock();
            if (l == null) {
                throw new IOException(disk + " is in use by another process (another repl agent?); "
                        + "stop it before bringing " + resource + " up here");
            }
            return new DiskLock(key, ch, l);
        } catch (IOException | RuntimeException e) {
            HOLDERS.remove(key, resource);
            if (ch != null) {
                ch.close();
            }
            if (e instanceof IOException) {
                throw (IOException) e;
            }
            // OverlappingFileLockException and friends: a lock this process already holds.
            throw new IOException(disk + ": cannot lock: " + e, e);
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException e) {
            System.getLogger(DiskLock.class.getName())
                    .log(System.Logger.Level.WARNING, "unlocking " + disk + ": " + e.getMessage());
        }
        HOLDERS.remove(disk);
    }
}
