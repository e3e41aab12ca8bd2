package io.repl.io.uring;

import io.repl.io.Backing;
import io.repl.io.EngineLoop;
import io.repl.io.Errno;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scripted kernel for engine tests: it answers submissions and completions as a kernel
 * under pressure or a broken ring would, and records what the engine hands back and when.
 *
 * <p>Everything it changes happens on the ring's thread, which is the only caller of the
 * script; the counts are atomics so the test thread may read them afterwards.
 */
public final class ScriptedRing implements RingFaults {
    private final AtomicInteger refusalsLeft = new AtomicInteger();
    private volatile int refusalErrno;
    private volatile int failAfterSubmits = -1;
    private volatile int failErrno;
    private final AtomicInteger againLeft = new AtomicInteger();
    private volatile int againPerRequest;
    private int[] againInARow = new int[4096];
    private final AtomicInteger submits = new AtomicInteger();
    private boolean refuseNext = true;

    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicInteger againInjected = new AtomicInteger();
    private final AtomicInteger handedBack = new AtomicInteger();
    private final AtomicInteger handedBackUnderKernel = new AtomicInteger();
    private final AtomicInteger completionsAfterFailure = new AtomicInteger();
    private volatile boolean failed;
    private volatile int sqesInKernelAtRelease = -1;

    /** Opens an engine on a ring of {@code ringEntries} behind this script (null loop: own thread). */
    public IoUringEngine open(Backing backing, long sizeBytes, int ringEntries, EngineLoop loop) throws IOException {
        return IoUringEngine.open(backing, sizeBytes, ringEntries, loop, this);
    }

    /** Answers every other submission, {@code times} times in all, with {@code -errno}, submitting nothing. */
    public ScriptedRing refuseEveryOtherSubmit(int errno, int times) {
        refusalErrno = -errno;
        refusalsLeft.set(times);
        return this;
    }

    /** Answers the submission after the next {@code submits} with {@code -errno}: a broken ring. */
    public ScriptedRing failSubmitAfter(int submits, int errno) {
        failErrno = -errno;
        failAfterSubmits = this.submits.get() + submits;
        return this;
    }

    /**
     * Turns up to {@code total} request CQEs into -EAGAIN, at most {@code perRequest} in a row
     * for one request (the real result then passes, and the count starts again).
     */
    public ScriptedRing againCompletions(int total, int perRequest) {
        againPerRequest = perRequest;
        againLeft.set(total);
        return this;
    }

    @Override
    public int beforeSubmit(int toSubmit) {
        int n = submits.incrementAndGet();
        if (failAfterSubmits >= 0 && n > failAfterSubmits) {
            failAfterSubmits = -1;
            failed = true;
            return failErrno;
        }
        if (refusalsLeft.get() > 0) {
            boolean refuse = refuseNext;
            refuseNext = !refuseNext;
            if (refuse) {
                refusalsLeft.decrementAndGet();
                refused.incrementAndGet();
                return refusalErrno;
            }
        }
        return 0;
    }

    @Override
    public int completion(int slot, int result) {
        if (failed) {
            completionsAfterFailure.incrementAndGet();
        }
        if (result >= 0 && againInARow[slot] < againPerRequest && againLeft.get() > 0) {
            againLeft.decrementAndGet();
            againInARow[slot]++;
            againInjected.incrementAndGet();
            return -Errno.EAGAIN;
        }
        againInARow[slot] = 0;
        return result;
    }

    @Override
    public void handingBack(int sqesInKernel) {
        handedBack.incrementAndGet();
        if (sqesInKernel != 0) {
            handedBackUnderKernel.incrementAndGet();
        }
    }

    @Override
    public void releasing(int sqesInKernel) {
        sqesInKernelAtRelease = sqesInKernel;
    }

    /** io_uring_enter calls that would have submitted SQEs, refused ones included. */
    public int submits() {
        return submits.get();
    }

    /** Submissions answered with the refusal errno. */
    public int refused() {
        return refused.get();
    }

    /** Request CQEs turned into -EAGAIN. */
    public int againInjected() {
        return againInjected.get();
    }

    /** Callbacks the engine was about to call (requests refused before the ring excepted). */
    public int handedBack() {
        return handedBack.get();
    }

    /** Of those, how many while the kernel might still hold one of the request's SQEs. */
    public int handedBackUnderKernel() {
        return handedBackUnderKernel.get();
    }

    /** Request CQEs reaped after the scripted failure: requests the kernel held when the ring broke. */
    public int completionsAfterFailure() {
        return completionsAfterFailure.get();
    }

    /** SQEs the kernel might hold when the ring memory was released; -1 if it was never released. */
    public int sqesInKernelAtRelease() {
        return sqesInKernelAtRelease;
    }
}
