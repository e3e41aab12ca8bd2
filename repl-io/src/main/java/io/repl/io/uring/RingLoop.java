package io.repl.io.uring;

import io.repl.io.EngineLoop;
import io.repl.io.Errno;
import io.repl.io.LibC;
import io.repl.io.kernel.NativeMemory;
import io.repl.io.kernel.Progress;
import io.repl.io.kernel.Request;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

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
 * <p>Reads are the exception: one offered on the loop, outside a pass over the ring, goes to
 * the kernel before {@link #offer} returns (without reaping, so no callback runs inside it).
 * A read request is a few bytes, so one socket read brings a client's whole queue of them,
 * and the pump task comes only after the loop has handled every event of its turn, replies
 * included: the device would sit idle the while, then get the burst at once. Measured on a
 * 2-vCPU VM through NBD at 4 KiB QD32, reads went from 44–46k to 59–63k IOPS; writes, whose
 * rate on such a machine is bounded by CPU, stay batched, one {@code io_uring_enter} per burst.
 *
 * <p>Any thread may {@link #offer} a request. While its own ring thread waits in
 * {@code io_uring_enter} it keeps a read of an eventfd in flight, so a submitter that finds it
 * asleep wakes it with one eventfd write; a busy ring thread is not woken at all and picks the
 * request up on its next pass, together with everything else that arrived meanwhile.
 *
 * <p>Slot accounting. In-flight requests are bounded by the ring: one slot per SQE minus the
 * one the eventfd read holds, and the CQ ring (twice the SQ) can never overflow. Each
 * in-flight request has at most one SQE out at a time, so the SQ always has room for the
 * SQEs the slots need; still, an SQE is only filled where {@link SubmissionQueue#free()} says
 * there is room, and a continuation waits its turn in {@code again}. The rest of the requests
 * wait in a bounded queue; past that bound a request is refused with -EAGAIN by the engine.
 *
 * <p>Backpressure is never a failure. An {@code io_uring_enter} answered with -EAGAIN (the
 * kernel is short of memory) or -EBUSY (completions to post first) leaves the SQEs in the
 * ring; the loop reaps, waits for one of the requests the kernel holds to complete (or, when
 * it holds none, backs off a moment) and submits them again. A CQE with -EAGAIN resubmits its
 * request, see {@link Progress}.
 *
 * <p>Buffers go back only when the kernel is done with them. {@code sqesOut} counts the SQEs
 * filled and neither reaped nor withdrawn (never consumed by the kernel, taken back from the
 * SQ), ring-wide and per request. A request's callback, which hands its buffer back to the
 * caller, runs only when its own count is 0, and the ring is unmapped only when the ring-wide
 * count is 0. On a failure of the ring (an unexpected errno, a bug) the loop stops taking and
 * continuing requests, withdraws the SQEs the kernel never saw, completes those requests and
 * the queued ones with -EIO, and keeps reaping until the kernel has handed back everything
 * else; each of those completes with its own result, or -EIO if it needed more. Should the
 * kernel never hand something back, the ring and every buffer it might touch are kept for the
 * life of the process and those callbacks are never called.
 */
final class RingLoop implements Runnable {
    static final int QUEUED_MAX = io.repl.io.BlockEngine.OUTSTANDING_ACCEPTED_MIN;
    private static final System.Logger LOG = System.getLogger(RingLoop.class.getName());
    private static final long WAKE_TAG = -1L;
    private static final int ZERO_CHUNK_BYTES = 1 << 20;
    private static final long BACKOFF_NANOS_MIN = 50_000L;
    private static final long BACKOFF_NANOS_MAX = 10_000_000L;
    /** Rings the kernel never handed everything back from: kept reachable, never unmapped. */
    private static final Set<RingLoop> HELD = ConcurrentHashMap.newKeySet();

    private final IoUring ring;
    private final int fileFd;
    private final int eventFd;
    private final String label;
    private final Runnable releaseFile;
    private final RingFaults faults;
    private final Request[] slots;
    private final int[] freeSlots;
    private int freeCount;
    private int inFlight;
    /** Slots whose request needs another SQE, oldest first: a ring of slot numbers. */
    private final int[] again;
    private int againHead;
    private int againCount;
    /** SQEs filled and neither reaped nor withdrawn, the wakeup read's included. */
    private int sqesOut;
    /** io_uring_enter refusals (-EAGAIN, -EBUSY) in a row, for the backoff. */
    private int refusals;
    private final ConcurrentLinkedQueue<Request> incoming = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicBoolean sleeping = new AtomicBoolean();
    private final ByteBuffer wakeBuffer = ByteBuffer.allocateDirect(8);
    private boolean wakeArmed;
    private boolean exiting;
    /** The ring failed: nothing new is submitted, only what the kernel holds is reaped. */
    private boolean failing;
    private ByteBuffer zeroes;
    private volatile boolean closing;
    private volatile boolean terminated;
    private volatile int deadResult = -Errno.ESHUTDOWN;
    private EngineLoop driver;
    private EngineLoop.Watch watch;
    private final AtomicBoolean pumpQueued = new AtomicBoolean();
    /** In {@link #pump}: a read offered by one of its callbacks goes with the pass's own submission. */
    private boolean pumping;
    /** What broke the ring during a {@link #submitNow}, for the pump to handle outside {@link #offer}. */
    private Throwable brokenBySubmit;
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

    RingLoop(IoUring ring, int fileFd, int eventFd, String label, Runnable releaseFile, RingFaults faults) {
        this.ring = ring;
        this.fileFd = fileFd;
        this.eventFd = eventFd;
        this.label = label;
        this.releaseFile = releaseFile;
        this.faults = faults;
        int n = ring.sq.entries() - 1;
        this.slots = new Request[n];
        this.freeSlots = new int[n];
        this.again = new int[n];
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
            if (r.kind == Request.Kind.READ && driver.inLoop() && !pumping && !closing) {
                submitNow();
            } else {
                schedulePump();
            }
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
        this.watch = loop.watch(eventFd, this::eventFdReadable, () -> !terminated && ring.cq.ready() > 0);
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

    /**
     * Fills and submits what is queued, on the loop, without reaping: no callback runs here.
     * A failure is left to the pump, which completes requests, so never inside {@link #offer}.
     */
    private void submitNow() {
        if (failing || brokenBySubmit != null) {
            schedulePump();
            return;
        }
        try {
            fill();
            int toSubmit = ring.sq.unconsumed();
            if (toSubmit > 0) {
                submitFromLoop(toSubmit);
            }
            reportInFlight();
        } catch (Throwable t) {
            brokenBySubmit = t;
            schedulePump();
        }
    }

    /** Tells the driver how the reads and writes in flight changed since the last report. */
    private void reportInFlight() {
        if (transfersInFlight != reportedInFlight) {
            driver.inFlightChanged(transfersInFlight - reportedInFlight);
            reportedInFlight = transfersInFlight;
        }
    }

    /** Reaps, refills and submits without waiting, until nothing more is ready. */
    private void pump() {
        if (terminated) {
            return;
        }
        pumping = true;
        try {
            if (brokenBySubmit != null) {
                Throwable t = brokenBySubmit;
                brokenBySubmit = null;
                throw t;
            }
            if (failing) {
                ring.cq.reap(this::completed);
                if (sqesOut == 0) {
                    release();
                }
                return;
            }
            for (int round = 0; round < 4; round++) {
                ring.cq.reap(this::completed);
                fill();
                int toSubmit = ring.sq.unconsumed();
                if (toSubmit > 0) {
                    submitFromLoop(toSubmit);
                }
                if (ring.cq.ready() == 0) {
                    break;
                }
            }
            reportInFlight();
            if (closing && inFlight == 0 && incoming.isEmpty()) {
                release();
            }
        } catch (Throwable t) {
            fail(t);
            if (sqesOut == 0) {
                release();
            }
            // Otherwise the eventfd brings the CQEs still due, and pump() reaps them.
        } finally {
            pumping = false;
        }
    }

    /** One enter that does not wait; a refusal leaves the SQEs for the next pump. */
    private void submitFromLoop(int toSubmit) {
        int r = enterOrFault(toSubmit, 0, 0);
        if (r >= 0) {
            refusals = 0;
        } else if (r != -Errno.EINTR && !refusal(r)) {
            throw new IllegalStateException("io_uring_enter failed: " + Errno.name(r));
        }
        if (ring.sq.unconsumed() > 0 && requestsInKernel() == 0) {
            // Nothing the kernel holds will signal the eventfd: come back after the events queued.
            schedulePump();
        }
    }

    private void loopGone() {
        deadResult = -Errno.ESHUTDOWN;
        terminated = true;
        drainQueued();
        if (sqesOut != 0) {
            // Nobody can reap any more, so nobody can tell when the kernel is done with them.
            LOG.log(System.Logger.Level.ERROR, label + ": " + inFlight + " requests stay in flight for good;"
                    + " their buffers are kept and their callbacks never run");
            HELD.add(this);
        }
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
        faults.releasing(sqesOut);
        if (sqesOut != 0) {
            LOG.log(System.Logger.Level.ERROR, label + ": the kernel may still hold " + sqesOut
                    + " SQEs; keeping the ring and its buffers for good");
            HELD.add(this);
            released.countDown();
            return;
        }
        if (ring.cq.overflow() != 0) {
            LOG.log(System.Logger.Level.ERROR, label + ": CQ overflowed " + ring.cq.overflow() + " times");
        }
        ring.close();
        Syscalls.get().close(eventFd);
        releaseFile.run();
        released.countDown();
    }

    // ---- On a thread of its own ----

    @Override
    public void run() {
        try {
            armWake();
            loop();
        } catch (Throwable t) {
            fail(t);
        }
        try {
            settle();
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, label + ": cannot reap the ring at exit", t);
            faults.releasing(sqesOut);
            terminated = true;
            drainQueued();
            HELD.add(this);
            return;
        }
        release();
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
        int r = enterOrFault(toSubmit, block ? 1 : 0, block ? IoUring.ENTER_GETEVENTS : 0);
        if (r >= 0 || r == -Errno.EINTR) {
            // Unconsumed SQEs stay in the ring and go with the next enter.
            if (r >= 0) {
                refusals = 0;
            }
            return;
        }
        if (refusal(r)) {
            waitOutRefusal();
            return;
        }
        throw new IllegalStateException("io_uring_enter failed: " + Errno.name(r));
    }

    /**
     * The kernel took nothing for now: what it lacks (memory, room to post completions) comes
     * back as the requests it holds complete, so wait for one; holding none, back off a moment.
     */
    private void waitOutRefusal() {
        refusals++;
        if (ring.cq.ready() > 0) {
            return;
        }
        if (requestsInKernel() > 0) {
            int w = ring.enter(0, 1, IoUring.ENTER_GETEVENTS);
            if (w < 0 && w != -Errno.EINTR && !refusal(w)) {
                throw new IllegalStateException("io_uring_enter failed: " + Errno.name(w));
            }
            return;
        }
        long backoff = Math.min(BACKOFF_NANOS_MAX, BACKOFF_NANOS_MIN << Math.min(refusals, 16));
        LockSupport.parkNanos(backoff);
    }

    /**
     * Waits until the kernel has handed back every SQE: withdraws those it never consumed and
     * completes the eventfd read, then reaps. Normally only the wakeup read is out by now.
     */
    private void settle() {
        exiting = true;
        ring.sq.withdraw(this::withdrawn);
        if (wakeArmed) {
            wake();
        }
        while (sqesOut > 0) {
            drainQueued();
            if (ring.cq.ready() == 0) {
                int w = ring.enter(0, 1, IoUring.ENTER_GETEVENTS);
                if (w < 0 && w != -Errno.EINTR && !refusal(w)) {
                    // The CQ ring is plain memory: it can still be watched without the syscall.
                    LockSupport.parkNanos(BACKOFF_NANOS_MAX);
                }
            }
            ring.cq.reap(this::completed);
        }
    }

    // ---- Both ways ----

    private int enterOrFault(int toSubmit, int minComplete, int flags) {
        int r = toSubmit > 0 ? faults.beforeSubmit(toSubmit) : 0;
        return r != 0 ? r : ring.enter(toSubmit, minComplete, flags);
    }

    /** io_uring_enter answers that mean "not now", never "failed". */
    private static boolean refusal(int r) {
        return r == -Errno.EAGAIN || r == -Errno.EBUSY;
    }

    /**
     * Requests' SQEs the kernel has consumed and not completed. When the wakeup read's SQE is
     * still in the SQ this is one too low, which only ever means backing off instead of waiting.
     */
    private int requestsInKernel() {
        return sqesOut - ring.sq.unconsumed() - (wakeArmed ? 1 : 0);
    }

    /** Prepares continuations, then moves queued requests into free slots, and publishes. */
    private void fill() {
        if (failing) {
            return;
        }
        while (againCount > 0 && ring.sq.free() > 0) {
            int slot = again[againHead];
            againHead = (againHead + 1) % again.length;
            againCount--;
            prepare(slots[slot], slot);
        }
        while (freeCount > 0 && againCount == 0 && ring.sq.free() > 0) {
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
        r.inKernel++;
        sqesOut++;
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
        sqesOut--;
        if (userData == WAKE_TAG) {
            wakeArmed = false;
            if (!exiting && !failing) {
                armWake();
            }
            return;
        }
        int slot = (int) userData;
        Request r = slots[slot];
        r.inKernel--;
        int outcome = Progress.advance(r, faults.completion(slot, result));
        if (outcome == Progress.AGAIN) {
            if (!failing) {
                again[(againHead + againCount++) % again.length] = slot;
                return;
            }
            outcome = deadResult;
        }
        retire(slot);
        complete(r, outcome);
    }

    /** An SQE the kernel never consumed, taken back from the SQ after a failure or at exit. */
    private void withdrawn(long userData) {
        sqesOut--;
        if (userData == WAKE_TAG) {
            wakeArmed = false;
            return;
        }
        int slot = (int) userData;
        Request r = slots[slot];
        r.inKernel--;
        retire(slot);
        complete(r, deadResult);
    }

    /** Frees a request's slot; its callback is the caller's to run. */
    private void retire(int slot) {
        Request r = slots[slot];
        slots[slot] = null;
        freeSlots[freeCount++] = slot;
        inFlight--;
        if (r.kind == Request.Kind.READ || r.kind == Request.Kind.WRITE) {
            transfersInFlight--;
        }
    }

    /**
     * The ring cannot go on: completes what the kernel never saw with -EIO at once, and lets
     * what it holds come back through the CQ (see the class comment).
     */
    private void fail(Throwable t) {
        LOG.log(System.Logger.Level.ERROR, label + ": io_uring loop failed; failing new requests with EIO"
                + " once the kernel has handed back the " + inFlight + " in flight", t);
        failing = true;
        deadResult = -Errno.EIO;
        ring.sq.withdraw(this::withdrawn);
        while (againCount > 0) {
            int slot = again[againHead];
            againHead = (againHead + 1) % again.length;
            againCount--;
            Request r = slots[slot];
            retire(slot);
            complete(r, deadResult);
        }
        drainQueued();
    }

    private long zeroesAddress() {
        if (zeroes == null) {
            zeroes = ByteBuffer.allocateDirect(ZERO_CHUNK_BYTES + 4096).alignedSlice(4096);
        }
        return NativeMemory.addressOf(zeroes);
    }

    private void armWake() {
        ring.sq.readWrite(SubmissionQueue.OP_READ, eventFd, NativeMemory.addressOf(wakeBuffer), 8, 0, WAKE_TAG);
        sqesOut++;
        wakeArmed = true;
    }

    private void wake() {
        if (Syscalls.get().eventfd_write(eventFd, 1) != 0) {
            LOG.log(System.Logger.Level.ERROR, label + ": eventfd write failed: " + Errno.name(Syscalls.lastErrno()));
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
        faults.handingBack(r.inKernel);
        if (r.inKernel != 0) {
            // A bug above: the caller would reuse a buffer the kernel may still fill.
            throw new IllegalStateException("request completed with " + r.inKernel + " SQEs in the kernel");
        }
        try {
            r.done.complete(result);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, label + ": I/O callback threw", t);
        }
    }
}
