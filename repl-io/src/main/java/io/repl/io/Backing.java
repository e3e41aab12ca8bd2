package io.repl.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.LongLongByReference;

/**
 * What a backing path is: a regular file or a block device, how large, and its logical
 * sector size. Engines use this to validate before they open anything for writing.
 */
public final class Backing {
    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;
    private static final int S_IFREG = 0100000;

    private final Path path;
    private final boolean blockDevice;
    private final long sizeBytes;
    private final int logicalSectorBytes;

    private Backing(Path path, boolean blockDevice, long sizeBytes, int logicalSectorBytes) {
        this.path = path;
        this.blockDevice = blockDevice;
        this.sizeBytes = sizeBytes;
        this.logicalSectorBytes = logicalSectorBytes;
    }

    /**
     * Inspects {@code path}.
     *
     * @throws IOException naming the path and what is wrong with it: missing, neither a file
     *     nor a block device, or unreadable
     */
    public static Backing probe(Path path) throws IOException {
        int mode;
        try {
            mode = (Integer) Files.getAttribute(path, "unix:mode");
        } catch (NoSuchFileException e) {
            throw new IOException(path + ": no such file or block device");
        }
        int type = mode & S_IFMT;
        if (type == S_IFREG) {
            return new Backing(path, false, Files.size(path), 512);
        }
        if (type != S_IFBLK) {
            throw new IOException(path + ": not a regular file or a block device");
        }
        return probeBlockDevice(path);
    }

    private static Backing probeBlockDevice(Path path) throws IOException {
        LibC c = LibC.get();
        if (c == null) {
            // Without ioctl the JDK's own size query still answers for block devices.
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                return new Backing(path, true, ch.size(), 512);
            }
        }
        int fd = c.open(path.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            throw new IOException(path + ": cannot open: " + c.strerror(LibC.lastErrno()));
        }
        try {
            LongLongByReference size = new LongLongByReference();
            if (c.ioctl(fd, LibC.BLKGETSIZE64, size) != 0) {
                throw new IOException(path + ": BLKGETSIZE64 failed: " + c.strerror(LibC.lastErrno()));
            }
            IntByReference sector = new IntByReference();
            int sectorBytes = 512;
            if (c.ioctl(fd, LibC.BLKSSZGET, sector) == 0 && sector.intValue() > 0) {
                sectorBytes = sector.intValue();
            }
            return new Backing(path, true, size.longValue(), sectorBytes);
        } finally {
            c.close(fd);
        }
    }

    public Path path() {
        return path;
    }

    public boolean blockDevice() {
        return blockDevice;
    }

    public long sizeBytes() {
        return sizeBytes;
    }

    /** 512 for regular files; the device's logical sector size for block devices. */
    public int logicalSectorBytes() {
        return logicalSectorBytes;
    }

    @Override
    public String toString() {
        return (blockDevice ? "block device " : "file ") + path + " (" + sizeBytes + " bytes)";
    }
}
