package io.repl.io.uring;

import io.repl.io.AlignedBuffers;
import io.repl.io.Backing;
import io.repl.io.BlockEngine;
import io.repl.io.BlockRange;
import io.repl.io.EngineLoop;
import io.repl.io.Errno;
import io.repl.io.IoCallback;
import io.repl.io.LibC;
import io.repl.io.kernel.BackingFile;
import io.repl.io.kernel.NativeMemory;
import io.repl.io.kernel.Request;
import io.repl.io.kernel.SelfTest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The io_uring engine: one ring, driven either by a thread of its own or by the caller's
 * {@link EngineLoop}, that submits in batches and reaps completions; O_DIRECT where the
 * backing allows it.
 *
 * <p>Requests are checked on the caller's thread; a bad one completes there with -EINVAL (and
 * any request after {@link #close()} with -ESHUTDOWN) before the method returns. Good ones go
 * to the {@link RingLoop}, whose thread (the ring's own, or the loop's) calls their callbacks.
 * A full ring is not an error: requests wait in the loop's queue, and only a request beyond
 * {@link BlockEngine#OUTSTANDING_ACCEPTED_MIN} queued ones is refused, with -EAGAIN.
 */
public final class IoUringEngine implements BlockEngine {
    /** Ring size: deep enough for a QD32 client per resource with room for resync traffic. */
    public static final int RING_ENTRIES_DEFAULT = 256;
    private static final System.Logger LOG = System.getLogger(IoUringEngine.class.getName());
    private static final long CLOSE_WAIT_SECONDS = 30;

    private final Backing backing;
    private volatile long sizeBytes;
    private final int alignment;
    private final boolean direct;
    private final int ringEntries;
    private final AlignedBuffers buffers = new AlignedBuffers(4096);
    private final RingLoop loop;
    /** The ring's own thread, or null when an event loop drives it. */
    private final Thread thread;
    private final EngineLoop driver;
    private final AtomicBoolean closed = new AtomicBoolean();

    private IoUringEngine(Backing backing, long sizeBytes, int alignment, boolean direct, int ringEntries,
                          RingLoop loop, EngineLoop driver) {
        this.backing = backing;
        this.sizeBytes = sizeBytes;
        this.alignment = alignment;
        this.direct = direct;
        this.ringEntries = ringEntries;
        this.loop = loop;
        this.driver = driver;
        if (driver == null) {
            this.thread = new Thread(loop, "io_uring-" + backing.path().getFileName());
            this.thread.setDaemon(true);
        } else {
            this.thread = null;
        }
    }

    /**
     * Why this kernel refuses to set up a ring (seccomp, {@code kernel.io_uring_disabled}, an
     * old kernel, the memlock limit), or null if it sets one up.
     */
    public static String kernelRefusal() {
        try (IoUring ring = IoUring.create(2, 0)) {
            return null;
        } catch (IOException | LinkageError e) {
            return e.getMessage();
        }
    }

    /** Opens with the default ring size and runs the self-test. */
    public static IoUringEngine open(Backing backing, long sizeBytes) throws IOException {
        return open(backing, sizeBytes, RING_ENTRIES_DEFAULT);
    }

    /**
     * Opens {@code backing} for I/O on its first {@code sizeBytes} bytes through a ring of
     * {@code ringEntries} entries, then proves the ring with {@link SelfTest}.
     *
     * @throws IOException if the kernel refuses io_uring, lacks an opcode the engine needs, the
     *     backing cannot be opened or is too small, or the self-test fails
     */
    public static IoUringEngine open(Backing backing, long sizeBytes, int ringEntries) throws IOException {
        return open(backing, sizeBytes, ringEntries, null);
    }

    /**
     * As {@link #open(Backing, long, int)}, with the ring driven by {@code driver} (null: by a
     * thread of its own). Must not be called on the driver's thread: the self-test waits for
     * the loop to complete its I/O.
     */
    public static IoUringEngine open(Backing backing, long sizeBytes, int ringEntries, EngineLoop driver)
            throws IOException {
        return open(backing, sizeBytes, ringEntries, driver, RingFaults.NONE);
    }

    /** As {@link #open(Backing, long, int, EngineLoop)}, with {@code faults} between the ring and the kernel. */
    static IoUringEngine open(Backing backing, long sizeBytes, int ringEntries, EngineLoop driver, RingFaults faults)
            throws IOException {
        if (driver != null && driver.inLoop()) {
            throw new IllegalStateException("an engine cannot be opened on the event loop that drives it");
        }
        if (ringEntries < 2 || ringEntries > 4096 || Integer.bitCount(ringEntries) != 1) {
            throw new IllegalArgumentException("ring entries must be a power of two in 2..4096, got " + ringEntries);
        }
        if (sizeBytes <= 0 || sizeBytes > backing.sizeBytes()) {
            throw new IOException(backing.path() + " holds " + backing.sizeBytes()
                    + " bytes, fewer than the " + sizeBytes + " bytes required");
        }
        LibC c = LibC.get();
        if (c == null || Syscalls.get() == null) {
            throw new IOException("libc could not be bound");
        }
        IoUring ring = IoUring.create(ringEntries, 0);
        BackingFile file = null;
        int eventFd = -1;
        try {
            if (!ring.supports(SubmissionQueue.OP_READ, SubmissionQueue.OP_WRITE, SubmissionQueue.OP_FSYNC,
                    SubmissionQueue.OP_FALLOCATE)) {
                throw new IOException("the kernel's io_uring lacks READ, WRITE, FSYNC or FALLOCATE (Linux >= 5.6)");
            }
            file = BackingFile.open(backing);
            if (sizeBytes % file.alignment != 0) {
                throw new IOException("volume size " + sizeBytes + " is not a multiple of the "
                        + file.alignment + "-byte alignment of " + backing.path());
            }
            eventFd = Syscalls.get().eventfd(0, Syscalls.EFD_CLOEXEC | (driver != null ? Syscalls.EFD_NONBLOCK : 0));
            if (eventFd < 0) {
                throw new IOException("eventfd failed: " + Errno.name(Syscalls.lastErrno()));
            }
        } catch (IOException | RuntimeException e) {
            if (eventFd >= 0) {
                Syscalls.get().close(eventFd);
            }
            if (file != null) {
                file.close();
            }
            ring.close();
            throw e;
        }
        BackingFile f = file;
        RingLoop loop = new RingLoop(ring, f.fd, eventFd, backing.path().toString(), f::close, faults);
        if (driver != null) {
            try {
                loop.attach(driver);
            } catch (IOException | RuntimeException e) {
                Syscalls.get().close(eventFd);
                f.close();
                ring.close();
                throw e;
            }
        }
        IoUringEngine engine = new IoUringEngine(backing, sizeBytes, f.alignment, f.direct, ringEntries, loop, driver);
        if (engine.thread != null) {
            engine.thread.start();
        }
        try {
            SelfTest.run(engine, backing.path());
        } catch (IOException | RuntimeException e) {
            engine.close();
            throw e;
        }
        return engine;
    }

    @Override
    public String name() {
        return "io_uring";
    }

    @Override
    public long size() {
        return sizeBytes;
    }

    @Override
    public void resize(long sizeBytes) {
        if (sizeBytes <= 0 || sizeBytes % alignment != 0) {
            throw new IllegalArgumentException("volume size " + sizeBytes + " must be a positive multiple of "
                    + alignment);
        }
        this.sizeBytes = sizeBytes;
    }

    @Override
    public int alignment() {
        return alignment;
    }

    @Override
    public boolean direct() {
        return direct;
    }

    @Override
    public AlignedBuffers buffers() {
        return buffers;
    }

    /**
     * Requests the ring holds at once; further ones wait in a queue of
     * {@link BlockEngine#OUTSTANDING_ACCEPTED_MIN}, and past that are refused with -EAGAIN.
     */
    public int inFlightMax() {
        return loop.slotCount();
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCallback done) {
        transfer(Request.Kind.READ, offset, dst, done);
    }

    @Override
    public void write(long offset, ByteBuffer src, IoCallback done) {
        transfer(Request.Kind.WRITE, offset, src, done);
    }

    /**
     * On a block device, one SQE with RWF_DSYNC instead of a write and then an fsync: the fsync
     * runs on an io-wq worker thread, one more wakeup per durable write, while a DSYNC O_DIRECT
     * write goes down inline as a FUA write (or a write and a cache flush). On a file the
     * write-then-fsync of the default stays: measured on ext4, every DSYNC write also wrote a
     * journal block, and the p99 of QD1 FUA writes went from under 0.5 ms to 4 ms.
     */
    @Override
    public void writeDurable(long offset, ByteBuffer src, IoCallback done) {
        if (!backing.blockDevice() || !direct) {
            BlockEngine.super.writeDurable(offset, src, done);
            return;
        }
        if (!transferable(offset, src, done)) {
            return;
        }
        if (!src.hasRemaining()) {
            flush(done);
            return;
        }
        submit(Request.durableWrite(offset, src, NativeMemory.addressOf(src), done));
    }

    private void transfer(Request.Kind kind, long offset, ByteBuffer b, IoCallback done) {
        if (!transferable(offset, b, done)) {
            return;
        }
        if (!b.hasRemaining()) {
            done.complete(0);
            return;
        }
        submit(Request.transfer(kind, offset, b, NativeMemory.addressOf(b), done));
    }

    /** Range and buffer checks of a read or write; a refused request is completed here. */
    private boolean transferable(long offset, ByteBuffer b, IoCallback done) {
        if (!accepts(offset, b.remaining(), done)) {
            return false;
        }
        if (!AlignedBuffers.isAligned(b, alignment)) {
            done.complete(-Errno.EINVAL);
            return false;
        }
        return true;
    }

    @Override
    public void flush(IoCallback done) {
        if (closed.get()) {
            done.complete(-Errno.ESHUTDOWN);
            return;
        }
        submit(Request.flush(done));
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap, boolean fastOnly, IoCallback done) {
        if (!accepts(offset, length, done)) {
            return;
        }
        if (length == 0) {
            done.complete(0);
            return;
        }
        submit(Request.zero(offset, length, mayUnmap, fastOnly, done));
    }

    private boolean accepts(long offset, long length, IoCallback done) {
        if (closed.get()) {
            done.complete(-Errno.ESHUTDOWN);
            return false;
        }
        if (!BlockRange.valid(offset, length, alignment, sizeBytes)) {
            done.complete(-Errno.EINVAL);
            return false;
        }
        return true;
    }

    private void submit(Request r) {
        if (!loop.offer(r)) {
            r.done.complete(-Errno.EAGAIN);
        }
    }

    /**
     * Refuses new requests, lets the ring thread finish the accepted ones, and waits for it to
     * release the ring and the backing. Called from a callback, it cannot wait for its own
     * thread, so it returns at once and the ring thread releases everything as it exits.
     *
     * <p>The ring is unmapped, and the last callbacks run, only once the kernel has completed
     * every SQE: a request the kernel still holds keeps its buffer and the ring memory alive.
     * After {@value #CLOSE_WAIT_SECONDS} s of waiting (a hung disk) this returns with a warning
     * and the ring thread goes on waiting; nothing is freed under the kernel either way.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        loop.stop();
        if (thread == null ? driver.inLoop() : Thread.currentThread() == thread) {
            return;
        }
        try {
            boolean done;
            if (thread == null) {
                done = loop.awaitReleased(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
            } else {
                thread.join(TimeUnit.SECONDS.toMillis(CLOSE_WAIT_SECONDS));
                done = !thread.isAlive();
            }
            if (!done) {
                LOG.log(System.Logger.Level.WARNING, backing.path() + ": I/O still running after "
                        + CLOSE_WAIT_SECONDS + " s at close");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "io_uring engine on " + backing + (direct ? ", O_DIRECT" : ", buffered") + ", "
                + ringEntries + " ring entries" + (driver != null ? ", on the event loop" : ", own thread");
    }
}
