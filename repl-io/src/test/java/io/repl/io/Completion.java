package io.repl.io;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** An IoCallback that records every call, so tests can check "exactly once" and wait for it. */
final class Completion implements IoCallback {
    /** Only a guard against a hung engine failing the build forever; no test asserts on time. */
    private static final long HANG_GUARD_SECONDS = 60;

    private final AtomicInteger calls = new AtomicInteger();
    private final CountDownLatch latch = new CountDownLatch(1);
    private volatile int result;

    @Override
    public void complete(int r) {
        if (calls.incrementAndGet() == 1) {
            result = r;
            latch.countDown();
        }
    }

    /** Waits for the first call and returns its result. */
    int await() {
        try {
            if (!latch.await(HANG_GUARD_SECONDS, TimeUnit.SECONDS)) {
                fail("no completion after " + HANG_GUARD_SECONDS + " s: the engine lost a request");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
        return result;
    }

    /** The result if already called; the caller must know it was. */
    int result() {
        return result;
    }

    boolean done() {
        return latch.getCount() == 0;
    }

    int calls() {
        return calls.get();
    }
}
