package io.repl.agent;

import io.repl.io.Errno;
import io.repl.io.Flock;
import io.repl.io.LibC;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * An exclusive claim on the disks of one resource, its backing disk and an external meta-disk,
 * so that two agents, two resources of one agent, or an agent and a mount or a QEMU never write
 * the same disk at once. Held from up to down, and while create-md writes.
 *
 * <p>Each disk is held through one descriptor that stays open while the claim lasts:
 * <ul>
 *   <li>an open-file-description (OFD) write lock over the whole file. It belongs to that
 *   descriptor, not to the process, so the engines and the io_uring self-test may open and
 *   close the disk as they like (a POSIX record lock would vanish with the first of those
 *   closes). QEMU locks images the same way, so qemu-img, qemu-io and qemu-nbd are refused
 *   while the agent holds a disk, and the agent is refused while they do;</li>
 *   <li>on a block device the descriptor is also opened O_EXCL, the kernel's own claim: mount,
 *   swapon, device-mapper and other exclusive openers get EBUSY.</li>
 * </ul>
 * Both end with the process, so a killed agent never leaves a stale claim. Where libc cannot
 * be bound, or the kernel has no OFD locks, the claim falls back to a JDK FileChannel lock (a
 * POSIX record lock) and says so in the log: that one is lost as soon as any descriptor of the
 * process on the disk closes.
 */
final class DiskLock implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DiskLock.class.getName());
    /** Which resource of this process holds which disk, for a refusal that names it. */
    private static final Map<Path, String> HOLDERS = new ConcurrentHashMap<>();

    private final List<Claim> claims;

    private DiskLock(List<Claim> claims) {
        this.claims = claims;
    }

    /**
     * Claims {@code disk} and, if not null, the external {@code metaDisk} of {@code resource}: both
     * or neither.
     *
     * @throws IOException saying what holds a disk, where the system can tell, and what to do
     */
    static DiskLock acquire(String resource, Path disk, Path metaDisk) throws IOException {
        return acquire(resource, disk, metaDisk, Flock.layoutKnown() ? LibC.get() : null);
    }

    /** As above with a given libc; null takes the fallback, as where libc cannot be bound. */
    static DiskLock acquire(String resource, Path disk, Path metaDisk, LibC c) throws IOException {
        List<Claim> held = new ArrayList<>(2);
        try {
            held.add(Claim.take(disk, "the disk of resource " + resource, c));
            if (metaDisk != null) {
                held.add(Claim.take(metaDisk, "the meta-disk of resource " + resource, c));
            }
            return new DiskLock(held);
        } catch (IOException | RuntimeException e) {
            held.forEach(Claim::close);
            throw e;
        }
    }

    @Override
    public void close() {
        claims.forEach(Claim::close);
    }

    /** One disk held: by a native descriptor, or in the fallback by a FileChannel lock. */
    private static final class Claim {
        private final Path key;
        private final String role;
        private final LibC c;
        private final int fd;
        private final FileChannel channel;
        private final FileLock lock;

        private Claim(Path key, String role, LibC c, int fd, FileChannel channel, FileLock lock) {
            this.key = key;
            this.role = role;
            this.c = c;
            this.fd = fd;
            this.channel = channel;
            this.lock = lock;
        }

        static Claim take(Path disk, String role, LibC c) throws IOException {
            Path key;
            try {
                key = disk.toRealPath();
            } catch (NoSuchFileException e) {
                throw new IOException(disk + " does not exist; it is named as " + role);
            }
            String holder = HOLDERS.putIfAbsent(key, role);
            if (holder != null) {
                throw new IOException(disk + " is already " + holder + " in this agent; it cannot also be "
                        + role + ": give each resource its own disks");
            }
            try {
                if (c == null) {
                    LOG.log(System.Logger.Level.WARNING, disk + ": no open-file-description lock and no exclusive open"
                            + " here (libc not bound, or not Linux on x86_64 or aarch64); falling back to a POSIX lock, which this process loses"
                            + " as soon as any of its descriptors on the disk closes");
                    return fallback(disk, key, role);
                }
                return nativeClaim(disk, key, role, c);
            } catch (IOException | RuntimeException e) {
                HOLDERS.remove(key, role);
                throw e;
            }
        }

        private static Claim nativeClaim(Path disk, Path key, String role, LibC c) throws IOException {
            boolean block = DiskHolders.isBlockDevice(key);
            int fd = c.open(key.toString(), LibC.O_RDWR | LibC.O_CLOEXEC | (block ? LibC.O_EXCL : 0), 0);
            if (fd < 0) {
                int err = LibC.lastErrno();
                if (block && err == Errno.EBUSY) {
                    throw refused(disk, key, "is in exclusive use");
                }
                throw new IOException("cannot open " + disk + ": " + c.strerror(err));
            }
            if (c.fcntl(fd, LibC.F_OFD_SETLK, Flock.wholeFile(LibC.F_WRLCK)) == 0) {
                return new Claim(key, role, c, fd, null, null);
            }
            int err = LibC.lastErrno();
            c.close(fd);
            if (err == Errno.EAGAIN || err == Errno.EACCES) {
                throw refused(disk, key, "is locked by another process");
            }
            if (err == Errno.EINVAL) {
                LOG.log(System.Logger.Level.WARNING, disk + ": this kernel has no open-file-description locks"
                        + " (Linux 3.15 brought them); falling back to a POSIX lock, which this process loses"
                        + " as soon as any of its descriptors on the disk closes");
                return fallback(disk, key, role);
            }
            throw new IOException("cannot lock " + disk + ": " + c.strerror(err));
        }

        private static Claim fallback(Path disk, Path key, String role) throws IOException {
            FileChannel ch = FileChannel.open(key, StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                FileLock l = ch.tryLock();
                if (l != null) {
                    return new Claim(key, role, null, -1, ch, l);
                }
            } catch (IOException | RuntimeException e) {
                ch.close();
                // OverlappingFileLockException and friends: a lock this process already holds.
                throw new IOException(disk + ": cannot lock: " + e, e);
            }
            ch.close();
            throw refused(disk, key, "is locked by another process");
        }

        /** Called with our own descriptor closed, so it does not show among the holders. */
        private static IOException refused(Path disk, Path key, String what) {
            List<DiskHolders.Holder> who = DiskHolders.describe(key);
            String named = who.isEmpty() ? "no process this agent may look at has it open"
                    : who.stream().map(DiskHolders.Holder::text).collect(Collectors.joining(", "));
            return new IOException(disk + " " + what + ": " + named + "; " + DiskHolders.advice(who)
                    + ", then try again");
        }

        void close() {
            try {
                if (channel != null) {
                    lock.release();
                    channel.close();
                } else if (c.close(fd) != 0) {
                    throw new IOException(c.strerror(LibC.lastErrno()));
                }
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "unlocking " + key + ": " + e.getMessage());
            }
            HOLDERS.remove(key, role);
        }
    }
}
