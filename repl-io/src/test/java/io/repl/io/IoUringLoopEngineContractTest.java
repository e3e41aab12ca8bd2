package io.repl.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.repl.io.uring.IoUringEngine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine contract against the io_uring engine driven by an event loop instead of its own
 * thread, the way the agent runs it: submissions and completions on the loop's thread.
 */
class IoUringLoopEngineContractTest extends LoopEngineContract {
    @BeforeAll
    static void ioUringAvailable() {
        String refused = IoUringEngine.kernelRefusal();
        assumeTrue(refused == null, "io_uring refused on this machine: " + refused);
    }

    @Override
    BlockEngine open(Backing backing, long sizeBytes) throws IOException {
        return open(backing, sizeBytes, IoUringEngine.RING_ENTRIES_DEFAULT, loop);
    }

    @Override
    BlockEngine open(Backing backing, long sizeBytes, int slots, EngineLoop driver) throws IOException {
        return IoUringEngine.open(backing, sizeBytes, slots, driver);
    }

    @Override
    String engineName() {
        return "io_uring";
    }

    @Test
    void requestsFromTheLoopCompleteOnTheLoop() throws Exception {
        int n = 64;
        CompletableFuture<Void> all = new CompletableFuture<>();
        AtomicReference<Thread> wrongThread = new AtomicReference<>();
        int[] left = {n};
        int[] failed = {0};
        loop.execute(() -> {
            for (int i = 0; i < n; i++) {
                ByteBuffer b = engine.buffers().acquire(4096);
                b.putLong(0, i);
                engine.write(i * 4096L, b, result -> {
                    if (!loop.inLoop()) {
                        wrongThread.set(Thread.currentThread());
                    }
                    if (result != 0) {
                        failed[0]++;
                    }
                    engine.buffers().release(b);
                    if (--left[0] == 0) {
                        all.complete(null);
                    }
                });
            }
        });
        all.get(30, TimeUnit.SECONDS);
        assertEquals(null, wrongThread.get(), "a callback ran off the loop");
        assertTrue(loop.transfersInFlightMax() > 0, "the loop was told writes were in flight");
        assertEquals(0, failed[0]);
        for (int i = 0; i < n; i++) {
            ByteBuffer b = engine.buffers().acquire(4096);
            CompletableFuture<Integer> r = new CompletableFuture<>();
            AtomicReference<Thread> on = new AtomicReference<>();
            engine.read(i * 4096L, b, result -> {
                on.set(Thread.currentThread());
                r.complete(result);
            });
            assertEquals(0, r.get(30, TimeUnit.SECONDS));
            assertSame(loop.thread(), on.get(), "completions are reaped by the loop");
            assertEquals(i, b.getLong(0));
            engine.buffers().release(b);
        }
        CompletableFuture<Integer> settled = new CompletableFuture<>();
        loop.execute(() -> settled.complete(loop.transfersInFlight()));
        assertEquals(0, settled.get(30, TimeUnit.SECONDS), "every transfer reported in flight was reported done");
    }
}
