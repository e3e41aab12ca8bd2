package io.repl.io;

import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.annotations.Variadic;
import jnr.ffi.byref.LongLongByReference;
import jnr.ffi.byref.IntByReference;

/**
 * The few libc calls the JDK does not offer: fallocate, block-device ioctls, exclusive opens
 * and open-file-description locks. Loaded once;
 * {@link #get()} is null where libc cannot be bound, and callers then take the portable path.
 */
public interface LibC {
    int O_RDONLY = 0;
    int O_RDWR = 2;
    int O_CLOEXEC = 0x80000;
    /**
     * Without O_CREAT, and only on a block device: claim it exclusively, so that mount, swapon,
     * device-mapper and other exclusive openers get EBUSY while the descriptor stays open.
     * Linux x86_64 and aarch64.
     */
    int O_EXCL = 0x80;

    /** fcntl: test an open-file-description lock (Linux 3.15+, x86_64 and aarch64). */
    int F_OFD_GETLK = 36;
    /** fcntl: take an open-file-description lock without waiting; EAGAIN when it conflicts. */
    int F_OFD_SETLK = 37;
    short F_RDLCK = 0;
    short F_WRLCK = 1;
    short F_UNLCK = 2;
    short SEEK_SET = 0;

    int FALLOC_FL_KEEP_SIZE = 0x01;
    int FALLOC_FL_PUNCH_HOLE = 0x02;
    int FALLOC_FL_ZERO_RANGE = 0x10;

    /** _IOR(0x12, 114, size_t): size of a block device in bytes. */
    long BLKGETSIZE64 = 0x80081272L;
    /** _IO(0x12, 104): logical sector size of a block device. */
    long BLKSSZGET = 0x1268L;

    @SaveError
    int open(String path, int flags, int mode);

    @SaveError
    int close(int fd);

    @SaveError
    int fallocate(int fd, int mode, long offset, long length);

    @SaveError
    int fdatasync(int fd);

    @SaveError
    int ioctl(int fd, long request, @Out LongLongByReference out);

    @SaveError
    int ioctl(int fd, long request, @Out IntByReference out);

    /** fcntl with a {@code struct flock}, as {@link Flock} lays it out, read and written back. */
    @SaveError
    @Variadic(fixedCount = 2)
    int fcntl(int fd, int cmd, @In @Out byte[] flock);

    String strerror(int errnum);

    /** The libc binding, or null where it cannot be loaded. */
    static LibC get() {
        return Holder.LIBC;
    }

    /** errno of the calling thread's last failed call through this binding. */
    static int lastErrno() {
        return jnr.ffi.Runtime.getRuntime(Holder.LIBC).getLastError();
    }

    /** Lazy, failure-tolerant loading. */
    final class Holder {
        static final LibC LIBC = load();

        private Holder() {}

        private static LibC load() {
            try {
                return LibraryLoader.create(LibC.class).failImmediately().load("c");
            } catch (Throwable t) {
                System.getLogger(LibC.class.getName())
                        .log(System.Logger.Level.WARNING, "libc not bound, native paths off: " + t);
                return null;
            }
        }
    }
}
