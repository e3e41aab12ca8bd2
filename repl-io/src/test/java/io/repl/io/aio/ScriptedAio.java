package io.repl.io.aio;

import io.repl.io.Backing;
import io.repl.io.EngineLoop;
import io.repl.io.Errno;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;

/** A scripted kernel for the libaio engine: it refuses submissions with -EAGAIN, as told. */
public final class ScriptedAio implements AioFaults {
    private final AtomicInteger refusalsLeft = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicInteger submits = new AtomicInteger();
    private volatile int every = 1;

    /** Opens an engine of {@code slots} slots behind this script (null loop: the reaper thread). */
    public AioEngine open(Backing backing, long sizeBytes, int slots, EngineLoop loop) throws IOException {
        return AioEngine.open(backing, sizeBytes, slots, loop, this);
    }

    /** Refuses every {@code every}-th submission with -EAGAIN, {@code times} times in all. */
    public ScriptedAio refuseWithEagain(int every, int times) {
        this.every = every;
        refusalsLeft.set(times);
        return this;
    }

    @Override
    public int beforeSubmit() {
        int n = submits.incrementAndGet();
        if (n % every == 0 && refusalsLeft.getAndUpdate(x -> Math.max(0, x - 1)) > 0) {
            refused.incrementAndGet();
            return -Errno.EAGAIN;
        }
        return 0;
    }

    /** Submissions answered with -EAGAIN. */
    public int refused() {
        return refused.get();
    }
}
