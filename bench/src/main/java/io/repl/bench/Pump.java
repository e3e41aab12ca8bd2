package io.repl.bench;

import io.repl.io.BlockEngine;
import io.repl.io.Errno;
import io.repl.io.IoCallback;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keeps {@code depth} requests in flight until {@code total} have completed, the way an
 * asynchronous server does: each completion issues the next request from the callback.
 */
final class Pump {
    /** Issues one request against the engine. */
    interface Issue {
        void issue(BlockEngine engine, IoCallback done);
    }

    private final BlockEngine engine;
    private final int total;
    private final int depth;
    private final Issue issue;
    private final AtomicInteger issued = new AtomicInteger();
    private final AtomicInteger failures = new AtomicInteger();
    private final CountDownLatch finished;
    private volatile int lastError;

    Pump(BlockEngine engine, int total, int depth, Issue issue) {
        this.engine = engine;
        this.total = total;
        this.depth = depth;
        this.issue = issue;
        this.finished = new CountDownLatch(total);
    }

    void run() throws InterruptedException {
        for (int i = 0; i < depth; i++) {
            next();
        }
        finished.await();
        if (failures.get() != 0) {
            throw new IllegalStateException(failures.get() + " requests failed, last with " + Errno.name(lastError));
        }
    }

    private void next() {
        if (issued.getAndIncrement() < total) {
            issue.issue(engine, this::completed);
        }
    }

    private void completed(int result) {
        if (result != 0) {
            lastError = result;
            failures.incrementAndGet();
        }
        next();
        finished.countDown();
    }
}
