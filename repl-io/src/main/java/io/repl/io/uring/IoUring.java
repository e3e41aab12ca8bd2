package io.repl.io.uring;

import io.repl.io.Errno;
import io.repl.io.kernel.NativeMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One io_uring instance: the ring file descriptor, its three mapped regions, and the enter
 * call. Owned by one thread once created; {@link #close()} unmaps and closes.
 */
final class IoUring implements AutoCloseable {
    static final int ENTER_GETEVENTS = 1;
    static final int FEAT_SINGLE_MMAP = 1;

    private static final long OFF_SQ_RING = 0L;
    private static final long OFF_CQ_RING = 0x8000000L;
    private static final long OFF_SQES = 0x10000000L;
    private static final long REGISTER_PROBE = 8;
    private static final long REGISTER_EVENTFD = 4;
    private static final int PROBE_OPS = 256;
    private static final int PROBE_HEADER_BYTES = 16;
    private static final int PROBE_OP_BYTES = 8;
    private static final int PROBE_OP_SUPPORTED = 1;

    private final Syscalls sys;
    private final int fd;
    private final int features;
    private final long sqRingAddress;
    private final long sqRingBytes;
    private final long cqRingAddress;
    private final long cqRingBytes;
    private final long sqesAddress;
    private final long sqesBytes;
    final SubmissionQueue sq;
    final CompletionQueue cq;

    private IoUring(Syscalls sys, int fd, RingParams p) throws IOException {
        this.sys = sys;
        this.fd = fd;
        this.features = p.features();
        long sqBytes = p.sqArray() + 4L * p.sqEntries();
        long cqBytes = p.cqCqes() + (long) CompletionQueue.CQE_BYTES * p.cqEntries();
        boolean single = (features & FEAT_SINGLE_MMAP) != 0;
        if (single) {
            // One mapping holds both rings; it must be large enough for either layout.
            sqBytes = Math.max(sqBytes, cqBytes);
            cqBytes = sqBytes;
        }
        long sqAddr = 0;
        long cqAddr = 0;
        long sqeAddr = 0;
        try {
            sqAddr = map(sqBytes, OFF_SQ_RING, "SQ ring");
            cqAddr = single ? sqAddr : map(cqBytes, OFF_CQ_RING, "CQ ring");
            sqeAddr = map((long) SubmissionQueue.SQE_BYTES * p.sqEntries(), OFF_SQES, "SQE array");
        } catch (IOException e) {
            unmap(sqeAddr, (long) SubmissionQueue.SQE_BYTES * p.sqEntries());
            if (!single) {
                unmap(cqAddr, cqBytes);
            }
            unmap(sqAddr, sqBytes);
            throw e;
        }
        this.sqRingAddress = sqAddr;
        this.sqRingBytes = sqBytes;
        this.cqRingAddress = cqAddr;
        this.cqRingBytes = single ? 0 : cqBytes;
        this.sqesAddress = sqeAddr;
        this.sqesBytes = (long) SubmissionQueue.SQE_BYTES * p.sqEntries();
        this.sq = new SubmissionQueue(NativeMemory.view(sqAddr, sqBytes), NativeMemory.view(sqeAddr, sqesBytes), p);
        this.cq = new CompletionQueue(NativeMemory.view(cqAddr, cqBytes), p);
    }

    /**
     * Sets up a ring with {@code entries} submission slots (a power of two).
     *
     * @throws IOException naming the errno when the kernel refuses (EPERM under seccomp or
     *     {@code kernel.io_uring_disabled}, ENOSYS on old kernels, ENOMEM over the memlock limit)
     */
    static IoUring create(int entries, int setupFlags) throws IOException {
        Syscalls sys = Syscalls.get();
        if (sys == null) {
            throw new IOException("libc could not be bound");
        }
        RingParams p = new RingParams(setupFlags);
        long fd = sys.syscall(Syscalls.SYS_IO_URING_SETUP, entries, NativeMemory.addressOf(p.buffer), 0, 0, 0, 0);
        if (fd < 0) {
            int errno = Syscalls.lastErrno();
            throw new IOException("io_uring_setup(" + entries + ") failed: " + Errno.name(errno)
                    + " (errno " + errno + ")");
        }
        try {
            return new IoUring(sys, (int) fd, p);
        } catch (IOException | RuntimeException e) {
            sys.close((int) fd);
            throw e;
        }
    }

    int features() {
        return features;
    }

    /**
     * Submits {@code toSubmit} published SQEs and, with {@link #ENTER_GETEVENTS}, waits until
     * at least {@code minComplete} CQEs are posted.
     *
     * @return SQEs consumed, or -errno
     */
    int enter(int toSubmit, int minComplete, int flags) {
        long r = sys.syscall(Syscalls.SYS_IO_URING_ENTER, fd, toSubmit, minComplete, flags, 0, 0);
        return r < 0 ? -Syscalls.lastErrno() : (int) r;
    }

    /**
     * Has the kernel signal {@code eventFd} whenever it posts a CQE, so an event loop that
     * polls the eventfd learns of completions without a thread blocked in the ring.
     */
    void registerEventFd(int eventFd) throws IOException {
        ByteBuffer arg = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
        arg.putInt(0, eventFd);
        long r = sys.syscall(Syscalls.SYS_IO_URING_REGISTER, fd, REGISTER_EVENTFD, NativeMemory.addressOf(arg), 1, 0, 0);
        if (r < 0) {
            throw new IOException("IORING_REGISTER_EVENTFD failed: " + Errno.name(Syscalls.lastErrno()));
        }
    }

    /** Whether the kernel implements {@code opcode}, asked through IORING_REGISTER_PROBE. */
    boolean supports(int... opcodes) throws IOException {
        ByteBuffer probe = ByteBuffer.allocateDirect(PROBE_HEADER_BYTES + PROBE_OP_BYTES * PROBE_OPS)
                .order(ByteOrder.nativeOrder());
        long r = sys.syscall(Syscalls.SYS_IO_URING_REGISTER, fd, REGISTER_PROBE, NativeMemory.addressOf(probe),
                PROBE_OPS, 0, 0);
        if (r < 0) {
            throw new IOException("IORING_REGISTER_PROBE failed: " + Errno.name(Syscalls.lastErrno()));
        }
        int lastOp = probe.get(0) & 0xff;
        for (int op : opcodes) {
            int flags = probe.getShort(PROBE_HEADER_BYTES + PROBE_OP_BYTES * op + 2) & 0xffff;
            if (op > lastOp || (flags & PROBE_OP_SUPPORTED) == 0) {
                return false;
            }
        }
        return true;
    }

    private long map(long length, long offset, String what) throws IOException {
        long a = sys.mmap(null, length, Syscalls.PROT_READ | Syscalls.PROT_WRITE,
                Syscalls.MAP_SHARED | Syscalls.MAP_POPULATE, fd, offset);
        if (a == Syscalls.MAP_FAILED || a == 0) {
            throw new IOException("mmap of the io_uring " + what + " failed: "
                    + Errno.name(Syscalls.lastErrno()));
        }
        return a;
    }

    private void unmap(long address, long length) {
        if (address != 0 && length > 0) {
            sys.munmap(address, length);
        }
    }

    /**
     * Unmaps the rings and closes the ring. Call it only once every SQE has been reaped: the
     * kernel tears a ring down in the background, and a request it still held could go on
     * reading or filling a buffer the caller has been handed back.
     */
    @Override
    public void close() {
        unmap(sqesAddress, sqesBytes);
        unmap(cqRingAddress, cqRingBytes);
        unmap(sqRingAddress, sqRingBytes);
        sys.close(fd);
    }
}
