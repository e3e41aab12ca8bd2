package io.repl.io;

import java.io.IOException;
import java.util.Locale;

/** The errno values the block layer reports; negative in results, positive here. */
public final class Errno {
    public static final int EPERM = 1;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EINVAL = 22;
    public static final int EFBIG = 27;
    public static final int ENOSPC = 28;
    public static final int EROFS = 30;
    public static final int ENOSYS = 38;
    public static final int EOPNOTSUPP = 95;
    public static final int ESHUTDOWN = 108;

    private Errno() {}

    /** A short name for logs: {@code -5} gives {@code "EIO"}. */
    public static String name(int errno) {
        switch (Math.abs(errno)) {
            case 0: return "OK";
            case EPERM: return "EPERM";
            case EINTR: return "EINTR";
            case EIO: return "EIO";
            case EBADF: return "EBADF";
            case EAGAIN: return "EAGAIN";
            case ENOMEM: return "ENOMEM";
            case EACCES: return "EACCES";
            case EFAULT: return "EFAULT";
            case EBUSY: return "EBUSY";
            case EINVAL: return "EINVAL";
            case EFBIG: return "EFBIG";
            case ENOSPC: return "ENOSPC";
            case EROFS: return "EROFS";
            case ENOSYS: return "ENOSYS";
            case EOPNOTSUPP: return "EOPNOTSUPP";
            case ESHUTDOWN: return "ESHUTDOWN";
            default: return "errno " + Math.abs(errno);
        }
    }

    /**
     * The errno behind a Java I/O exception. The JDK hides it, so this reads the message the
     * JDK copied from strerror; anything it cannot place is EIO, which is always safe to report.
     */
    public static int of(IOException e) {
        String m = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
        if (m.contains("no space left")) {
            return ENOSPC;
        }
        if (m.contains("file too large")) {
            return EFBIG;
        }
        if (m.contains("read-only file system")) {
            return EROFS;
        }
        if (m.contains("invalid argument")) {
            return EINVAL;
        }
        if (m.contains("operation not supported")) {
            return EOPNOTSUPP;
        }
        return EIO;
    }
}
