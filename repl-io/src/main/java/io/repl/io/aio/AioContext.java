package io.repl.io.aio;

import io.repl.io.Errno;
import io.repl.io.kernel.NativeMemory;
import io.repl.io.uring.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One Linux AIO context ({@code io_setup}) and its iocbs: the kernel interface libaio wraps,
 * called here through {@code syscall(2)} so that no libaio library need be installed.
 *
 * <p>Each slot owns one {@code struct iocb} (64 bytes) and one pointer to it, in native
 * memory that lives as long as this object, so that threads filling different slots never
 * share a byte and a one-iocb {@code io_submit} needs no allocation.
 *
 * <p>Layouts (x86_64 and aarch64, little-endian): {@code struct iocb} is {@code aio_data} u64
 * at 0, {@code aio_key} u32 at 8, {@code aio_rw_flags} u32 at 12, {@code aio_lio_opcode} u16
 * at 16, {@code aio_reqprio} s16 at 18, {@code aio_fildes} u32 at 20, {@code aio_buf} u64 at
 * 24, {@code aio_nbytes} u64 at 32, {@code aio_offset} s64 at 40, reserved u64 at 48,
 * {@code aio_flags} u32 at 56, {@code aio_resfd} u32 at 60. {@code struct io_event} is
 * {@code data} u64, {@code obj} u64, {@code res} s64, {@code res2} s64: 32 bytes.
 */
final class AioContext implements AutoCloseable {
    static final int CMD_PREAD = 0;
    static final int CMD_PWRITE = 1;
    static final int CMD_FDSYNC = 3;
    /** {@code aio_rw_flags}: a write that is durable when it completes (Linux 4.13+). */
    static final int RWF_DSYNC = 0x2;

    private static final boolean ARM64 = "aarch64".equals(System.getProperty("os.arch"));
    private static final long SYS_IO_SETUP = ARM64 ? 0 : 206;
    private static final long SYS_IO_DESTROY = ARM64 ? 1 : 207;
    private static final long SYS_IO_SUBMIT = ARM64 ? 2 : 209;
    private static final long SYS_IO_GETEVENTS = ARM64 ? 4 : 208;
    private static final int IOCB_BYTES = 64;
    /** {@code aio_flags}: signal the eventfd in {@code aio_resfd} on completion. */
    private static final int IOCB_FLAG_RESFD = 1;
    static final int EVENT_BYTES = 32;

    private final Syscalls sys;
    private final long ctx;
    private final int slots;
    private final ByteBuffer iocbs;
    private final long iocbsAddress;
    private final ByteBuffer pointers;
    private final long pointersAddress;
    private boolean destroyed;
    /** The eventfd every iocb signals on completion (IOCB_FLAG_RESFD), or -1 for none. */
    private int resultFd = -1;

    private AioContext(Syscalls sys, long ctx, int slots) {
        this.sys = sys;
        this.ctx = ctx;
        this.slots = slots;
        this.iocbs = ByteBuffer.allocateDirect(slots * IOCB_BYTES).order(ByteOrder.nativeOrder());
        this.iocbsAddress = NativeMemory.addressOf(iocbs);
        this.pointers = ByteBuffer.allocateDirect(slots * 8).order(ByteOrder.nativeOrder());
        this.pointersAddress = NativeMemory.addressOf(pointers);
        for (int i = 0; i < slots; i++) {
            pointers.putLong(i * 8, iocbsAddress + (long) i * IOCB_BYTES);
        }
    }

    /**
     * Sets up a context for {@code slots} requests in flight at once.
     *
     * @throws IOException if the kernel refuses (no AIO in this kernel, {@code fs.aio-max-nr}
     *     reached, seccomp)
     */
    static AioContext create(int slots) throws IOException {
        Syscalls sys = Syscalls.get();
        if (sys == null) {
            throw new IOException("libc could not be bound");
        }
        ByteBuffer ctxOut = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
        ctxOut.putLong(0, 0L);
        long r = sys.syscall(SYS_IO_SETUP, slots, NativeMemory.addressOf(ctxOut), 0, 0, 0, 0);
        if (r < 0) {
            int errno = Syscalls.lastErrno();
            throw new IOException("io_setup(" + slots + ") failed: " + Errno.name(errno)
                    + (errno == Errno.EAGAIN ? " (fs.aio-max-nr reached)" : ""));
        }
        return new AioContext(sys, ctxOut.getLong(0), slots);
    }

    int slots() {
        return slots;
    }

    /**
     * From now on every iocb prepared has the kernel add 1 to {@code eventFd} when it
     * completes ({@code IOCB_FLAG_RESFD}), so an event loop polling the eventfd learns of
     * completions without a thread waiting in {@code io_getevents}.
     */
    void signalOnCompletion(int eventFd) {
        this.resultFd = eventFd;
    }

    /** Fills slot {@code slot}'s iocb for a read or write; {@code aio_data} is the slot. */
    void prepare(int slot, int opcode, int fd, long address, long length, long offset, int rwFlags) {
        int base = slot * IOCB_BYTES;
        for (int i = 0; i < IOCB_BYTES; i += 8) {
            iocbs.putLong(base + i, 0L);
        }
        iocbs.putLong(base, slot);
        iocbs.putInt(base + 12, rwFlags);
        iocbs.putShort(base + 16, (short) opcode);
        iocbs.putInt(base + 20, fd);
        iocbs.putLong(base + 24, address);
        iocbs.putLong(base + 32, length);
        iocbs.putLong(base + 40, offset);
        if (resultFd >= 0) {
            iocbs.putInt(base + 56, IOCB_FLAG_RESFD);
            iocbs.putInt(base + 60, resultFd);
        }
    }

    /** Hands slot {@code slot}'s iocb to the kernel: 0, or the negative errno it was refused with. */
    int submit(int slot) {
        long r = sys.syscall(SYS_IO_SUBMIT, ctx, 1, pointersAddress + slot * 8L, 0, 0, 0);
        if (r == 1) {
            return 0;
        }
        if (r == 0) {
            // The kernel took none without an error: the same as "not now".
            return -Errno.EAGAIN;
        }
        return -Syscalls.lastErrno();
    }

    /**
     * Copies up to {@code events.capacity() / 32} completions already posted into
     * {@code events}, without waiting.
     *
     * @return how many (0 when none is posted), or a negative errno
     */
    int pollEvents(ByteBuffer events, ByteBuffer timespec) {
        timespec.putLong(0, 0L);
        timespec.putLong(8, 0L);
        long r = sys.syscall(SYS_IO_GETEVENTS, ctx, 0, events.capacity() / EVENT_BYTES,
                NativeMemory.addressOf(events), NativeMemory.addressOf(timespec), 0);
        return r < 0 ? -Syscalls.lastErrno() : (int) r;
    }

    /**
     * Waits up to {@code timeoutNanos} for at least one completion and copies up to
     * {@code events.capacity() / 32} of them into {@code events}.
     *
     * @return how many, or a negative errno ({@code -EINTR} is usual and harmless)
     */
    int getEvents(ByteBuffer events, ByteBuffer timespec, long timeoutNanos) {
        timespec.putLong(0, timeoutNanos / 1_000_000_000L);
        timespec.putLong(8, timeoutNanos % 1_000_000_000L);
        long r = sys.syscall(SYS_IO_GETEVENTS, ctx, 1, events.capacity() / EVENT_BYTES,
                NativeMemory.addressOf(events), NativeMemory.addressOf(timespec), 0);
        return r < 0 ? -Syscalls.lastErrno() : (int) r;
    }

    /** The slot of completion {@code i} in {@code events}. */
    static int slotOf(ByteBuffer events, int i) {
        return (int) events.getLong(i * EVENT_BYTES);
    }

    /** The result of completion {@code i}: bytes moved or a negative errno, as an int. */
    static int resultOf(ByteBuffer events, int i) {
        long res = events.getLong(i * EVENT_BYTES + 16);
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, res));
    }

    /**
     * Destroys the context. Only once the kernel has completed every iocb: io_destroy would
     * wait for them anyway, but their buffers must outlive them, which the engine ensures.
     */
    @Override
    public void close() {
        if (!destroyed) {
            destroyed = true;
            sys.syscall(SYS_IO_DESTROY, ctx, 0, 0, 0, 0, 0);
        }
    }
}
