package io.repl.io.uring;

import io.repl.io.EngineLoop;
import io.repl.io.Errno;
import io.repl.io.LibC;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one thread that owns a ring: it moves accepted requests into SQEs, submits them in
 * batches, reaps completions, resubmits what is unfinished and calls each callback once.
 *
 * <p>That thread is either the ring's own ({@link #run}) or an {@link EngineLoop}'s
 * ({@link #attach}). On a loop, a request offered from the loop's thread is queued and a
 * pump task is queued behind the events being handled, so the burst is submitted with one
 * {@code io_uring_enter} that does not wait; the ring signals an eventfd the loop polls for
 * each CQE, and the loop reaps them. Callbacks then run on the loop's thread. A request
 * offered from another thread queues the pump task on the loop.
 *
 * <p>Any thread may {@link #offer} a request. While its own ring thread waits in
 * {@code io_uring_enter} it keeps a read of an eventfd in flight, so a submitter that finds it
 * asleep wakes it with one eventfd write; a busy ring thread is not woken at all and picks the
 * request up on its next pass, together with everything else that arrived meanwhile.
 *
 * <p>In-flight requests are bounded by the ring: one slot per SQE minus the one the eventfd
 * read holds, and the CQ ring (twice the SQ) can never overflow. The rest waits in a bounded
 * queue; past that bound a request is refused with -EAGAIN by the engine.
 */
final class RingLoop implements Runnable {
    static final int QUEUED_MAX = 16384;
    private static final System.Logger LOG = System.getLogger(RingLoop.class.getName());
    private static final long WAKE_TAG = -1L;
    private static final int ZERO_CHUNK_BYTES = 1 << 20;

    private final IoUring ring;
    private final int fileFd;
    private final int eventFd;
    private final String label;
    private final Runnable releaseFile;
    private final Request[] slots;
    private final int[] freeSlots;
    private int freeCount;
    private int inFlight;
    private final ConcurrentLinkedQueue<Request> incoming = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicBoolean sleeping = new AtomicBoolean();
    private final ByteBuffer wakeBuffer = ByteBuffer.allocateDirect(8);
    private boolean wakeArmed;
    private boolean exiting;
    private ByteBuffer zeroes;
    private volatile boolean closing;
    private volatile boolean terminated;
    private volatile int deadResult = -Errno.ESHUTDOWN;
    private EngineLoop driver;
    private EngineLoop.Watch watch;
    private final AtomicBoolean pumpQueued = new AtomicBoolean();
    private final Runnable pumpTask = this::pumpTask;
    private final CountDownLatch released = new CountDownLatch(1);
    /**
     * Reads and writes in flight, which the device completes by interrupt, and the count last
     * reported to the driver. Flushes and zeroing are left out: the kernel runs them on a
     * worker thread, which a loop polling for them would only keep off the CPU.
     */
    private int transfersInFlight;
    private int reportedInFlight;
    /** Native scratch for draining the eventfd on the loop. */
    private final ByteBuffer eventScratch = ByteBuffer.allocateDirect(8);

    RingLoop(IoUring ring, int fileFd, int eventFd, String label, Runnable releaseFile) {
        this.ring = ring;
        this.fileFd = fileFd;
        this.eventFd = eventFd;
        this.label = label;
        this.releaseFile = releaseFile;
        int n = ring.sq.entries() - 1;
        this.slots = new Request[n];
        this.freeSlots = new int[n];
        for (int i = 0; i < n; i++) {
            freeSlots[i] = n - 1 - i;
        }
        this.freeCount = n;
    }

    /** Requests the ring can hold at once; more wait in the queue. */
    int slotCount() {
        return slots.length;
    }

    /**
     * Accepts a request from any thread.
     *
     * @return false if the queue is full; the caller then completes it with -EAGAIN
     */
    boolean offer(Request r) {
        if (queued.incrementAndGet() > QUEUED_MAX) {
            queued.decrementAndGet();
            return false;
        }
        incoming.offer(r);
        if (terminated) {
            // The ring thread is gone and will never look again: finish it here, exactly once.
            drainQueued();
        } else if (driver != null) {
            schedulePump();
        } else if (sleeping.get() && sleeping.compareAndSet(true, false)) {
            wake();
        }
        return true;
    }

    /** Lets the ring thread finish what was accepted, then exit and release everything. */
    void stop() {
        closing = true;
        if (driver != null) {
            schedulePump();
        } else {
            wake();
        }
    }

    // ---- Driven by an event loop ----

    /**
     * Runs this ring on {@code loop} from now on: the kernel signals the (non-blocking)
     * eventfd for every CQE and the loop reaps them. Called once, before any request.
     */
    void attach(EngineLoop loop) throws IOException {
        ring.registerEventFd(eventFd);
        this.driver = loop;
        this.watch = loop.watch(eventFd, this::eventFdReadable);
    }

    /** Waits until a loop-driven ring has released the ring and the file. */
    boolean awaitReleased(long timeout, TimeUnit unit) throws InterruptedException {
        return released.await(timeout, unit);
    }

    private void schedulePump() {
        if (pumpQueued.compareAndSet(false, true)) {
            try {
                driver.execute(pumpTask);
            } catch (RejectedExecutionException e) {
                // The loop is gone, and with it whoever would have reaped: nothing in flight
                // can finish normally any more.
                LOG.log(System.Logger.Level.ERROR, label + ": event loop shut down under the ring");
                loopGone();
            }
        }
    }

    private void pumpTask() {
        pumpQueued.set(false);
        pump();
    }

    private void eventFdReadable() {
        // One read resets the counter; a CQE posted after it signals again.
        Syscalls.get().read(eventFd, NativeMemory.addressOf(eventScratch), 8);
        pump();
    }

    /** Reaps, refills and submits without waiting, until nothing more is ready. */
    private void pump() {
        if (terminated) {
            return;
        }
        try {
            for (int round = 0; round < 4; round++) {
                ring.cq.reap(this::completed);
                fill();
                int toSubmit = ring.sq.unconsumed();
                if (toSubmit > 0) {
                    int r = ring.enter(toSubmit, 0, 0);
                    if (r < 0 && r != -Errno.EINTR && r != -Errno.EAGAIN && r != -Errno.EBUSY) {
                        throw new IllegalStateException("io_uring_enter failed: " + Errno.name(r));
                    }
                    int left = ring.sq.unconsumed();
                    if (left > 0 && left == inFlight) {
                        // Short of kernel resources with nothing in flight to signal us: retry soon.
                        schedulePump();
                    }
                }
                if (ring.cq.ready() == 0) {
                    break;
                }
            }
            if (transfersInFlight != reportedInFlight) {
                driver.inFlightChanged(transfersInFlight - reportedInFlight);
                reportedInFlight = transfersInFlight;
            }
            if (closing && inFlight == 0 && incoming.isEmpty()) {
                release();
            }
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, label + ": io_uring loop failed, failing all requests with EIO", t);
            deadResult = -Errno.EIO;
            failInFlight(-Errno.EIO);
            release();
        }
    }

    private void loopGone() {
        deadResult = -Errno.ESHUTDOWN;
        terminated = true;
        drainQueued();
        released.countDown();
    }

    /** Ends the ring for good: no more callbacks from it, and the kernel objects closed. */
    private void release() {
        terminated = true;
        if (watch != null) {
            watch.close();
        }
        if (driver != null && reportedInFlight != 0 && driver.inLoop()) {
            driver.inFlightChanged(-reportedInFlight);
            reportedInFlight = 0;
        }
        drainQueued();
        if (ring.cq.overflow() != 0) {
            LOG.log(System.Logger.Level.ERROR, label + ": CQ overflowed " + ring.cq.overflow() + " times");
        }
        ring.close();
        Syscalls.get().close(eventFd);
        releaseFile.run();
        released.countDown();
    }

    @Override
    public void run() {
        try {
            armWake();
            loop();
            disarmWake();
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, label + ": io_uring loop failed, failing all requests with EIO", t);
            deadResult = -Errno.EIO;
            failInFlight(-Errno.EIO);
        } finally {
            release();
        }
    }

    private void loop() {
        while (true) {
            fill();
            if (closing && inFlight == 0 && incoming.isEmpty()) {
                return;
            }
            int toSubmit = ring.sq.unconsumed();
            boolean block = ring.cq.ready() == 0;
            if (block) {
                sleeping.set(true);
                if (freeCount > 0 && !incoming.isEmpty()) {
                    // Work arrived between fill() and now; its submitter may have seen us awake.
                    sleeping.set(false);
                    continue;
                }
            }
            if (toSubmit > 0 || block) {
                enter(toSubmit, block);
            }
            if (block) {
                sleeping.set(false);
            }
            ring.cq.reap(this::completed);
        }
    }

    private void enter(int toSubmit, boolean block) {
        int r = ring.enter(toSubmit, block ? 1 : 0, block ? IoUring.ENTER_GETEVENTS : 0);
        if (r >= 0 || r == -Errno.EINTR) {
            // Unconsumed SQEs stay in the ring and go with the next enter.
            return;
        }
        if (r == -Errno.EAGAIN || r == -Errno.EBUSY) {
            // The kernel is short of memory or completions: wait for one instead of spinning.
            if (ring.cq.ready() == 0) {
                int w = ring.enter(0, 1, IoUring.ENTER_GETEVENTS);
                if (w < 0 && w != -Errno.EINTR && w != -Errno.EAGAIN && w != -Errno.EBUSY) {
                    throw new IllegalStateException("io_uring_enter failed: " + Errno.name(w));
                }
            }
            return;
        }
        throw new IllegalStateException("io_uring_enter failed: " + Errno.name(r));
    }

    /** Moves queued requests into free slots and publishes every SQE filled so far. */
    private void fill() {
        while (freeCount > 0) {
            Request r = incoming.poll();
            if (r == null) {
                break;
            }
            queued.decrementAndGet();
            int slot = freeSlots[--freeCount];
            slots[slot] = r;
            inFlight++;
            if (r.kind == Request.Kind.READ || r.kind == Request.Kind.WRITE) {
                transfersInFlight++;
            }
            prepare(r, slot);
        }
        ring.sq.publish();
    }

    private void prepare(Request r, int slot) {
        SubmissionQueue sq = ring.sq;
        switch (r.kind) {
            case READ:
                sq.readWrite(SubmissionQueue.OP_READ, fileFd, r.address, (int) r.remaining, r.offset, slot);
                break;
            case WRITE:
                sq.readWrite(SubmissionQueue.OP_WRITE, fileFd, r.address, (int) r.remaining, r.offset,
                        r.dsync ? SubmissionQueue.RWF_DSYNC : 0, slot);
                break;
            case FLUSH:
                sq.fsync(fileFd, slot);
                break;
            case ZERO:
                prepareZero(r, slot);
                break;
            default:
                throw new IllegalStateException("unknown request kind " + r.kind);
        }
    }

    private void prepareZero(Request r, int slot) {
        switch (r.zeroStep) {
            case PUNCH_HOLE:
                ring.sq.fallocate(fileFd, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE,
                        r.offset, r.remaining, slot);
                break;
            case ZERO_RANGE:
                ring.sq.fallocate(fileFd, LibC.FALLOC_FL_ZERO_RANGE | LibC.FALLOC_FL_KEEP_SIZE,
                        r.offset, r.remaining, slot);
                break;
            default:
                int length = (int) Math.min(ZERO_CHUNK_BYTES, r.remaining);
                ring.sq.readWrite(SubmissionQueue.OP_WRITE, fileFd, zeroesAddress(), length, r.offset, slot);
                break;
        }
    }

    private void completed(long userData, int result) {
        if (userData == WAKE_TAG) {
            wakeArmed = false;
            if (!exiting) {
                armWake();
            }
            return;
        }
        int slot = (int) userData;
        Request r = slots[slot];
        int outcome = Progress.advance(r, result);
        if (outcome == Progress.AGAIN) {
            prepare(r, slot);
            return;
        }
        slots[slot] = null;
        freeSlots[freeCount++] = slot;
        inFlight--;
        if (r.kind == Request.Kind.READ || r.kind == Request.Kind.WRITE) {
            transfersInFlight--;
        }
        complete(r, outcome);
    }

    private long zeroesAddress() {
        if (zeroes == null) {
            zeroes = ByteBuffer.allocateDirect(ZERO_CHUNK_BYTES + 4096).alignedSlice(4096);
        }
        return NativeMemory.addressOf(zeroes);
    }

    private void armWake() {
        ring.sq.readWrite(SubmissionQueue.OP_READ, eventFd, NativeMemory.addressOf(wakeBuffer), 8, 0, WAKE_TAG);
        wakeArmed = true;
    }

    /** Completes the eventfd read so the kernel holds no pointer into our memory at close. */
    private void disarmWake() {
        exiting = true;
        while (wakeArmed) {
            ring.sq.publish();
            wake();
            enter(ring.sq.unconsumed(), true);
            ring.cq.reap(this::completed);
        }
    }

    private void wake() {
        if (Syscalls.get().eventfd_write(eventFd, 1) != 0) {
            LOG.log(System.Logger.Level.ERROR, label + ": eventfd write failed: " + Errno.name(Syscalls.lastErrno()));
        }
    }

    private void failInFlight(int result) {
        for (int slot = 0; slot < slots.length; slot++) {
            Request r = slots[slot];
            if (r != null) {
                slots[slot] = null;
                complete(r, result);
            }
        }
    }

    private void drainQueued() {
        Request r;
        while ((r = incoming.poll()) != null) {
            queued.decrementAndGet();
            complete(r, deadResult);
        }
    }

    private void complete(Request r, int result) {
        try {
            r.done.complete(result);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, label + ": I/O callback threw", t);
        }
    }
}
