package io.repl.core.replication;

/** The Linux errno values the core reports to the front end and the peer. */
public final class Errno {
    public static final int OK = 0;
    public static final int EIO = 5;
    public static final int EAGAIN = 11;
    public static final int EINVAL = 22;
    public static final int EROFS = 30;

    private Errno() {
    }
}
