package io.repl.io.kernel;

import io.repl.io.Backing;
import io.repl.io.Errno;
import io.repl.io.LibC;
import io.repl.io.uring.Syscalls;
import java.io.IOException;
import java.nio.file.Files;

/**
 * A backing opened for an engine that hands addresses to the kernel: its descriptor, whether
 * it is O_DIRECT, and the alignment that mode needs.
 */
public final class BackingFile {
    private static final System.Logger LOG = System.getLogger(BackingFile.class.getName());

    public final int fd;
    public final boolean direct;
    public final int alignment;

    private BackingFile(int fd, boolean direct, int alignment) {
        this.fd = fd;
        this.direct = direct;
        this.alignment = alignment;
    }

    /** O_DIRECT where the file system takes it (tmpfs does not), buffered otherwise. */
    public static BackingFile open(Backing backing) throws IOException {
        LibC c = LibC.get();
        String path = backing.path().toString();
        int sector = Math.max(512, backing.logicalSectorBytes());
        int need = sector;
        if (!backing.blockDevice()) {
            long storeBlock = Files.getFileStore(backing.path()).getBlockSize();
            need = (int) Math.min(Integer.MAX_VALUE, Math.max(sector, storeBlock));
        }
        int flags = LibC.O_RDWR | LibC.O_CLOEXEC;
        if (need <= 4096 && Integer.bitCount(need) == 1) {
            int fd = c.open(path, flags | Syscalls.O_DIRECT, 0);
            if (fd >= 0) {
                return new BackingFile(fd, true, need);
            }
            int errno = LibC.lastErrno();
            if (errno != Errno.EINVAL) {
                throw new IOException(path + ": cannot open: " + c.strerror(errno));
            }
            LOG.log(System.Logger.Level.INFO, path + ": O_DIRECT refused, using buffered I/O with fdatasync");
        }
        int fd = c.open(path, flags, 0);
        if (fd < 0) {
            throw new IOException(path + ": cannot open: " + c.strerror(LibC.lastErrno()));
        }
        return new BackingFile(fd, false, sector);
    }

    public void close() {
        LibC.get().close(fd);
    }
}
