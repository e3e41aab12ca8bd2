package io.repl.agent.volume;

import io.repl.io.IoCallback;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Completes one callback once every part of a split request has completed, with the first
 * error if any part failed. Call {@link #add()} before starting each part and {@link #seal()}
 * once all are started, so a part that finishes early cannot complete the whole.
 */
public final class Join implements IoCallback {
    private final IoCallback done;
    private final AtomicInteger pending = new AtomicInteger(1);
    private final AtomicInteger firstError = new AtomicInteger();

    public Join(IoCallback done) {
        this.done = done;
    }

    public void add() {
        pending.incrementAndGet();
    }

    public void seal() {
        complete(0);
    }

    @Override
    public void complete(int result) {
        if (result != 0) {
            firstError.compareAndSet(0, result);
        }
        if (pending.decrementAndGet() == 0) {
            done.complete(firstError.get());
        }
    }
}
