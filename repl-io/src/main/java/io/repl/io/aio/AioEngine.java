package io.repl.io.aio;

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
import io.repl.io.kernel.Progress;
import io.repl.io.kernel.Request;
import io.repl.io.kernel.SelfTest;
import io.repl.io.uring.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The Linux AIO engine ({@code io-engine = "libaio"}): the kernel's native asynchronous I/O,
 * for kernels or sandboxes where io_uring is missing or switched off. It is truly
 * asynchronous only with O_DIRECT, which it uses wherever the file system takes it; on a
 * buffered file (tmpfs) {@code io_submit} does the I/O before it returns.
 *
 * <p>Threads. The submitting thread claims a slot and calls {@code io_submit} for its request
 * itself, so a request costs no hand-off on the way in. One reaper thread waits in
 * {@code io_getevents}, runs the callbacks, and submits the next piece of a request that
 * needs one (the rest of a short transfer, a retry, the next way of zeroing) and the requests
 * that waited for a slot. AIO has no fallocate, so hole punching and zeroing ranges run on a
 * helper thread, as does fdatasync where the kernel refuses an AIO fdsync.
 *
 * <p>On an {@link EngineLoop} (the agent's way) there is no reaper: every iocb has the kernel
 * signal an eventfd the loop polls with its sockets ({@code IOCB_FLAG_RESFD}), and the loop
 * collects the completions with a non-blocking {@code io_getevents} and runs the callbacks,
 * so a request submitted by the loop completes on it without any thread hand-off. The
 * helper's results go back to the loop as tasks.
 *
 * <p>A request moves between threads only through the kernel (submitted on one, completed
 * on the reaper or the loop) or the helper's queue; the slot table is read and written under
 * one lock.
 *
 * <p>The rules are the io_uring engine's: the same {@link Request}s and {@link Progress}, a
 * callback only once the kernel is done with the buffer, and requests beyond the slots
 * waiting in a queue of {@link BlockEngine#OUTSTANDING_ACCEPTED_MIN} before any is refused
 * with -EAGAIN.
 */
public final class AioEngine implements BlockEngine {
    /** Requests in the kernel at once: a QD32 client with room for resync traffic, as the ring. */
    public static final int SLOTS_DEFAULT = 256;
    private static final System.Logger LOG = System.getLogger(AioEngine.class.getName());
    private static final int ZERO_CHUNK_BYTES = 1 << 20;
    private static final int EVENTS_MAX = 64;
    private static final long WAIT_NANOS = 100_000_000L;
    private static final long CLOSE_WAIT_SECONDS = 30;
    /** Before trying again an io_submit refused while nothing else is in the kernel. */
    private static final long REFUSED_RETRY_NANOS = 1_000_000L;

    private final Backing backing;
    private volatile long sizeBytes;
    private final BackingFile file;
    private final AioContext aio;
    private final AlignedBuffers buffers = new AlignedBuffers(4096);
    /** Null when {@link #driver} reaps. */
    private final Thread reaper;
    /** The loop that reaps, or null when the reaper thread does. */
    private final EngineLoop driver;
    /** The eventfd the kernel signals per completion, on a loop; -1 otherwise. */
    private final int eventFd;
    private EngineLoop.Watch watch;
    /** Loop mode: iocbs the kernel has taken and the loop has not reaped. */
    private final AtomicInteger iocbsInKernel = new AtomicInteger();
    private final ByteBuffer loopEvents;
    private final ByteBuffer loopTimespec;
    private final ByteBuffer eventScratch;
    /** Loop mode: the context, the file and the eventfd are gone (the loop's thread only). */
    private boolean freed;
    /** Loop mode: io_getevents failed; what the kernel holds is kept for good. */
    private boolean broken;
    private final CountDownLatch freedLatch = new CountDownLatch(1);
    /** Between the engine and io_submit, for tests; {@link AioFaults#NONE} in production. */
    private final AioFaults faults;
    private final ExecutorService helper;
    private final ByteBuffer zeroes;
    private final long zeroesAddress;

    private final Object lock = new Object();
    private final Request[] slots;
    private final int[] freeSlots;
    private int freeCount;
    private final ArrayDeque<Request> waiting = new ArrayDeque<>();
    /** Requests with a slot, submitted or about to be; guarded by {@code lock}. */
    private int inFlight;
    private volatile boolean closed;
    /** The reaper has gone: set under {@code lock} once closed with nothing left. */
    private boolean released;
    /** Slots whose io_submit the kernel refused for now: the reaper submits them again. */
    private final ConcurrentLinkedQueue<Integer> refused = new ConcurrentLinkedQueue<>();
    /** The kernel refused an AIO fdsync on this file once: flushes run fdatasync on the helper. */
    private volatile boolean fdsyncOnHelper;

    private AioEngine(Backing backing, long sizeBytes, BackingFile file, AioContext aio, EngineLoop driver,
            int eventFd, AioFaults faults) {
        this.backing = backing;
        this.faults = faults;
        this.driver = driver;
        this.eventFd = eventFd;
        this.sizeBytes = sizeBytes;
        this.file = file;
        this.aio = aio;
        int n = aio.slots();
        this.slots = new Request[n];
        this.freeSlots = new int[n];
        for (int i = 0; i < n; i++) {
            freeSlots[i] = n - 1 - i;
        }
        this.freeCount = n;
        String name = backing.path().getFileName().toString();
        this.helper = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "aio-helper-" + name);
            t.setDaemon(true);
            return t;
        });
        this.zeroes = ByteBuffer.allocateDirect(ZERO_CHUNK_BYTES + 4096).alignedSlice(4096);
        this.zeroesAddress = NativeMemory.addressOf(zeroes);
        if (driver == null) {
            this.reaper = new Thread(this::reap, "aio-" + name);
            this.reaper.setDaemon(true);
            this.loopEvents = null;
            this.loopTimespec = null;
            this.eventScratch = null;
        } else {
            this.reaper = null;
            this.loopEvents = ByteBuffer.allocateDirect(EVENTS_MAX * AioContext.EVENT_BYTES).order(ByteOrder.nativeOrder());
            this.loopTimespec = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder());
            this.eventScratch = ByteBuffer.allocateDirect(8);
        }
    }

    /** Why Linux AIO cannot be used here, or null if a context can be set up. */
    public static String kernelRefusal() {
        try (AioContext ctx = AioContext.create(2)) {
            return null;
        } catch (IOException | LinkageError e) {
            return e.getMessage();
        }
    }

    /**
     * Opens {@code backing} for I/O on its first {@code sizeBytes} bytes with
     * {@link #SLOTS_DEFAULT} requests in the kernel at once, then proves it with the self-test.
     *
     * @throws IOException if the kernel refuses AIO, the backing cannot be opened or is too
     *     small, or the self-test fails
     */
    public static AioEngine open(Backing backing, long sizeBytes) throws IOException {
        return open(backing, sizeBytes, SLOTS_DEFAULT);
    }

    /** As {@link #open(Backing, long)} with {@code slots} requests in the kernel at once. */
    public static AioEngine open(Backing backing, long sizeBytes, int slots) throws IOException {
        return open(backing, sizeBytes, slots, null);
    }

    /**
     * As {@link #open(Backing, long, int)}, with completions reaped by {@code driver} (null: by
     * a thread of the engine's own). Must not be called on the driver's thread: the self-test
     * waits for the loop to complete its I/O.
     */
    public static AioEngine open(Backing backing, long sizeBytes, int slots, EngineLoop driver) throws IOException {
        return open(backing, sizeBytes, slots, driver, AioFaults.NONE);
    }

    /** As {@link #open(Backing, long, int, EngineLoop)}, with {@code faults} before every io_submit. */
    static AioEngine open(Backing backing, long sizeBytes, int slots, EngineLoop driver, AioFaults faults)
            throws IOException {
        if (driver != null && driver.inLoop()) {
            throw new IllegalStateException("an engine cannot be opened on the event loop that drives it");
        }
        if (slots < 1 || slots > 4096) {
            throw new IllegalArgumentException("slots must be 1..4096, got " + slots);
        }
        if (sizeBytes <= 0 || sizeBytes > backing.sizeBytes()) {
            throw new IOException(backing.path() + " holds " + backing.sizeBytes()
                    + " bytes, fewer than the " + sizeBytes + " bytes required");
        }
        if (LibC.get() == null) {
            throw new IOException("libc could not be bound");
        }
        AioContext aio = AioContext.create(slots);
        BackingFile file = null;
        int eventFd = -1;
        AioEngine engine;
        try {
            file = BackingFile.open(backing);
            if (sizeBytes % file.alignment != 0) {
                throw new IOException("volume size " + sizeBytes + " is not a multiple of the "
                        + file.alignment + "-byte alignment of " + backing.path());
            }
            if (driver != null) {
                eventFd = Syscalls.get().eventfd(0, Syscalls.EFD_CLOEXEC | Syscalls.EFD_NONBLOCK);
                if (eventFd < 0) {
                    throw new IOException("eventfd failed: " + Errno.name(Syscalls.lastErrno()));
                }
                aio.signalOnCompletion(eventFd);
            }
            engine = new AioEngine(backing, sizeBytes, file, aio, driver, eventFd, faults);
            if (driver != null) {
                engine.watch = driver.watch(eventFd, engine::eventFdReadable);
            }
        } catch (IOException | RuntimeException e) {
            if (eventFd >= 0) {
                Syscalls.get().close(eventFd);
            }
            if (file != null) {
                file.close();
            }
            aio.close();
            throw e;
        }
        if (engine.reaper != null) {
            engine.reaper.start();
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
        return "libaio";
    }

    @Override
    public long size() {
        return sizeBytes;
    }

    @Override
    public void resize(long sizeBytes) {
        if (sizeBytes <= 0 || sizeBytes % file.alignment != 0) {
            throw new IllegalArgumentException("volume size " + sizeBytes + " must be a positive multiple of "
                    + file.alignment);
        }
        this.sizeBytes = sizeBytes;
    }

    @Override
    public int alignment() {
        return file.alignment;
    }

    @Override
    public boolean direct() {
        return file.direct;
    }

    @Override
    public AlignedBuffers buffers() {
        return buffers;
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCallback done) {
        transfer(Request.Kind.READ, offset, dst, done, false);
    }

    @Override
    public void write(long offset, ByteBuffer src, IoCallback done) {
        transfer(Request.Kind.WRITE, offset, src, done, false);
    }

    /**
     * On an O_DIRECT block device one write with RWF_DSYNC, which goes down as a FUA write;
     * on a file a write and then a flush, for the reason the io_uring engine gives.
     */
    @Override
    public void writeDurable(long offset, ByteBuffer src, IoCallback done) {
        if (!backing.blockDevice() || !file.direct) {
            BlockEngine.super.writeDurable(offset, src, done);
            return;
        }
        transfer(Request.Kind.WRITE, offset, src, done, true);
    }

    private void transfer(Request.Kind kind, long offset, ByteBuffer b, IoCallback done, boolean dsync) {
        if (!accepts(offset, b.remaining(), done)) {
            return;
        }
        if (!AlignedBuffers.isAligned(b, file.alignment)) {
            done.complete(-Errno.EINVAL);
            return;
        }
        if (!b.hasRemaining()) {
            if (dsync) {
                flush(done);
            } else {
                done.complete(0);
            }
            return;
        }
        long address = NativeMemory.addressOf(b);
        submit(dsync ? Request.durableWrite(offset, b, address, done) : Request.transfer(kind, offset, b, address, done));
    }

    @Override
    public void flush(IoCallback done) {
        if (closed) {
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
        if (closed) {
            done.complete(-Errno.ESHUTDOWN);
            return false;
        }
        if (!BlockRange.valid(offset, length, file.alignment, sizeBytes)) {
            done.complete(-Errno.EINVAL);
            return false;
        }
        return true;
    }

    /** Gives {@code r} a slot and starts it, or queues it until a slot frees. */
    private void submit(Request r) {
        int slot;
        synchronized (lock) {
            if (released) {
                slot = -2;
            } else if (freeCount == 0) {
                if (waiting.size() >= OUTSTANDING_ACCEPTED_MIN) {
                    slot = -1;
                } else {
                    waiting.add(r);
                    return;
                }
            } else {
                slot = freeSlots[--freeCount];
                slots[slot] = r;
                inFlight++;
            }
        }
        if (slot < 0) {
            r.done.complete(slot == -2 ? -Errno.ESHUTDOWN : -Errno.EAGAIN);
            return;
        }
        int started = start(slot, r);
        if (started != 0) {
            advance(slot, r, started);
        }
    }

    /**
     * Hands the next piece of {@code r} to the kernel (or the helper thread).
     *
     * @return 0 when it is on its way (its completion will come to {@link #advance}), or the
     *     negative errno it was refused with at once
     */
    private int start(int slot, Request r) {
        switch (r.kind) {
            case READ:
                aio.prepare(slot, AioContext.CMD_PREAD, file.fd, r.address, r.remaining, r.offset, 0);
                break;
            case WRITE:
                aio.prepare(slot, AioContext.CMD_PWRITE, file.fd, r.address, r.remaining, r.offset,
                        r.dsync ? AioContext.RWF_DSYNC : 0);
                break;
            case FLUSH:
                if (fdsyncOnHelper) {
                    onHelper(slot, r, () -> syscallResult(LibC.get().fdatasync(file.fd)));
                    return 0;
                }
                aio.prepare(slot, AioContext.CMD_FDSYNC, file.fd, 0, 0, 0, 0);
                break;
            case ZERO:
                if (r.zeroStep == Request.ZeroStep.WRITE_ZEROES) {
                    aio.prepare(slot, AioContext.CMD_PWRITE, file.fd, zeroesAddress,
                            Math.min(ZERO_CHUNK_BYTES, r.remaining), r.offset, 0);
                    break;
                }
                int mode = LibC.FALLOC_FL_KEEP_SIZE | (r.zeroStep == Request.ZeroStep.PUNCH_HOLE
                        ? LibC.FALLOC_FL_PUNCH_HOLE : LibC.FALLOC_FL_ZERO_RANGE);
                onHelper(slot, r, () -> syscallResult(LibC.get().fallocate(file.fd, mode, r.offset, r.remaining)));
                return 0;
            default:
                throw new IllegalStateException("unknown request kind " + r.kind);
        }
        r.inKernel++;
        if (driver != null) {
            iocbsInKernel.incrementAndGet();
        }
        int refusedNow = faults.beforeSubmit();
        int submitted = refusedNow != 0 ? refusedNow : aio.submit(slot);
        if (submitted == 0) {
            return 0;
        }
        r.inKernel--;
        if (driver != null) {
            iocbsInKernel.decrementAndGet();
        }
        if (submitted == -Errno.EAGAIN) {
            // The kernel is short of something for now; the reaper (or the loop, after the
            // next completion) tries again.
            refused.add(slot);
            if (driver != null && iocbsInKernel.get() == 0) {
                retryLater();
            }
            return 0;
        }
        return submitted;
    }

    private interface SyncCall {
        int run();
    }

    private void onHelper(int slot, Request r, SyncCall call) {
        try {
            if (driver == null) {
                helper.execute(() -> advance(slot, r, call.run()));
            } else {
                helper.execute(() -> {
                    int result = call.run();
                    onLoop(() -> {
                        advance(slot, r, result);
                        releaseIfDone();
                    });
                });
            }
        } catch (RejectedExecutionException e) {
            advance(slot, r, -Errno.ESHUTDOWN);
        }
    }

    // ---- Reaped by an event loop ----

    /** Runs {@code task} on the loop; if the loop is gone, here, as nothing else will. */
    private void onLoop(Runnable task) {
        try {
            driver.execute(task);
        } catch (RejectedExecutionException e) {
            task.run();
        }
    }

    /**
     * Nothing is in the kernel to bring the loop back to a refused submission: try again
     * after a moment, from the helper (which only waits, then hands over to the loop).
     */
    private void retryLater() {
        try {
            helper.execute(() -> {
                LockSupport.parkNanos(REFUSED_RETRY_NANOS);
                onLoop(this::retryRefused);
            });
        } catch (RejectedExecutionException e) {
            onLoop(this::retryRefused);
        }
    }

    private void eventFdReadable() {
        // One read resets the count; a completion posted after it signals again.
        Syscalls.get().read(eventFd, NativeMemory.addressOf(eventScratch), 8);
        reapPosted();
    }

    /** Collects the completions posted so far without waiting, then retries refused submissions. */
    private void reapPosted() {
        if (freed || broken) {
            return;
        }
        while (true) {
            int n = aio.pollEvents(loopEvents, loopTimespec);
            if (n == -Errno.EINTR) {
                continue;
            }
            if (n < 0) {
                LOG.log(System.Logger.Level.ERROR, backing.path() + ": io_getevents failed: " + Errno.name(n)
                        + "; the requests in the kernel are kept, never completed");
                broken = true;
                watch.close();
                return;
            }
            takeEvents(loopEvents, n);
            if (n < EVENTS_MAX) {
                break;
            }
        }
        retryRefused();
        releaseIfDone();
    }

    /** Tries once more each submission refused so far; one refused again waits for the next turn. */
    private void retryRefused() {
        for (int left = refused.size(); left > 0; left--) {
            Integer slot = refused.poll();
            if (slot == null) {
                break;
            }
            advance(slot, slotted(slot), -Errno.EAGAIN);
        }
    }

    /** Closed with nothing left: frees the context, the file and the eventfd (on the loop). */
    private void releaseIfDone() {
        if (freed || broken || !closed || !releasedIfIdle()) {
            return;
        }
        freed = true;
        watch.close();
        helper.shutdown();
        aio.close();
        file.close();
        Syscalls.get().close(eventFd);
        freedLatch.countDown();
    }

    private static int syscallResult(int r) {
        return r == 0 ? 0 : -LibC.lastErrno();
    }

    /**
     * Takes one result for the request in {@code slot}: another piece, or its end, after
     * which the slot goes to the next waiting request. A loop, not recursion, so a disk that
     * refuses every submission at once cannot run the stack out over a long queue.
     */
    private void advance(int slot, Request r, int result) {
        while (true) {
            if (r.kind == Request.Kind.FLUSH && result == -Errno.EINVAL && !fdsyncOnHelper) {
                // Kernels before 4.18 and some file systems have no AIO fdsync.
                fdsyncOnHelper = true;
                LOG.log(System.Logger.Level.INFO, backing.path() + ": AIO fdsync refused, flushing with fdatasync");
                result = start(slot, r);
                if (result == 0) {
                    return;
                }
                continue;
            }
            int outcome = Progress.advance(r, result);
            if (outcome == Progress.AGAIN) {
                result = start(slot, r);
                if (result == 0) {
                    return;
                }
                continue;
            }
            Request next;
            synchronized (lock) {
                next = waiting.poll();
                if (next != null) {
                    slots[slot] = next;
                } else {
                    slots[slot] = null;
                    freeSlots[freeCount++] = slot;
                    inFlight--;
                }
            }
            complete(r, outcome);
            if (next == null) {
                return;
            }
            r = next;
            result = start(slot, r);
            if (result == 0) {
                return;
            }
        }
    }

    private void complete(Request r, int result) {
        if (r.inKernel != 0) {
            // A bug above: the caller would reuse a buffer the kernel may still fill.
            throw new IllegalStateException("request completed with " + r.inKernel + " iocbs in the kernel");
        }
        try {
            r.done.complete(result);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, backing.path() + ": I/O callback threw", t);
        }
    }

    /** Takes the first {@code n} completions in {@code events}, each for the request in its slot. */
    private void takeEvents(ByteBuffer events, int n) {
        for (int i = 0; i < n; i++) {
            int slot = AioContext.slotOf(events, i);
            Request r = slotted(slot);
            if (driver != null) {
                iocbsInKernel.decrementAndGet();
            }
            r.inKernel--;
            advance(slot, r, AioContext.resultOf(events, i));
        }
    }

    private Request slotted(int slot) {
        synchronized (lock) {
            return slots[slot];
        }
    }

    /** The reaper: waits for completions until closed and nothing is left, then releases everything. */
    private void reap() {
        ByteBuffer events = ByteBuffer.allocateDirect(EVENTS_MAX * AioContext.EVENT_BYTES).order(ByteOrder.nativeOrder());
        ByteBuffer timespec = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder());
        boolean broken = false;
        while (!releasedIfIdle()) {
            int n = aio.getEvents(events, timespec, WAIT_NANOS);
            if (n < 0 && n != -Errno.EINTR) {
                LOG.log(System.Logger.Level.ERROR, backing.path() + ": io_getevents failed: " + Errno.name(n)
                        + "; the requests in the kernel are kept, never completed");
                broken = true;
                break;
            }
            takeEvents(events, Math.max(n, 0));
            Integer slot;
            while ((slot = refused.poll()) != null) {
                advance(slot, slotted(slot), -Errno.EAGAIN);
            }
        }
        helper.shutdown();
        if (broken) {
            // The kernel may still write into buffers of requests it holds: keep everything.
            return;
        }
        aio.close();
        file.close();
    }

    /** Closed with nothing accepted left: the reaper may go, and late submitters are told so. */
    private boolean releasedIfIdle() {
        synchronized (lock) {
            released = closed && inFlight == 0 && waiting.isEmpty();
            return released;
        }
    }

    /**
     * Refuses new requests and waits until those accepted have completed and the context and
     * the file are released. From a callback it returns at once; the reaper (or the loop, once
     * the last request completes) releases them.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (driver != null) {
            if (driver.inLoop()) {
                releaseIfDone();
                return;
            }
            onLoop(this::releaseIfDone);
            try {
                if (!freedLatch.await(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                    LOG.log(System.Logger.Level.WARNING, backing.path() + ": I/O still running after "
                            + CLOSE_WAIT_SECONDS + " s at close");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        if (Thread.currentThread() == reaper) {
            return;
        }
        try {
            reaper.join(TimeUnit.SECONDS.toMillis(CLOSE_WAIT_SECONDS));
            if (reaper.isAlive()) {
                LOG.log(System.Logger.Level.WARNING, backing.path() + ": I/O still running after "
                        + CLOSE_WAIT_SECONDS + " s at close");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "libaio engine on " + backing + (file.direct ? ", O_DIRECT" : ", buffered") + ", "
                + aio.slots() + " slots" + (driver != null ? ", reaped by " + driver : "");
    }
}
