package io.repl.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.repl.io.aio.AioEngine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine contract against the Linux AIO engine with its completions reaped by an event
 * loop (an eventfd per completion) instead of its reaper thread, the way the agent runs it.
 */
class AioLoopEngineContractTest extends LoopEngineContract {
    @BeforeAll
    static void aioAvailable() {
        assumeTrue(AioEngine.kernelRefusal() == null, "Linux AIO refused here: " + AioEngine.kernelRefusal());
    }

    @Override
    BlockEngine open(Backing backing, long sizeBytes) throws IOException {
        return open(backing, sizeBytes, AioEngine.SLOTS_DEFAULT, loop);
    }

    @Override
    BlockEngine open(Backing backing, long sizeBytes, int slots, EngineLoop driver) throws IOException {
        return AioEngine.open(backing, sizeBytes, slots, driver);
    }

    @Override
    String engineName() {
        return "libaio";
    }

    /**
     * Writes submitted on the loop, then reads from another thread, all complete on the
     * loop's thread; zeroing (the helper's work) does too; the data reads back.
     */
    @Test
    void everyCompletionRunsOnTheLoop() throws Exception {
        int n = 64;
        byte[][] data = new byte[n][];
        Random rnd = new Random(5);
        for (int i = 0; i < n; i++) {
            data[i] = Scratch.random(rnd, 4096);
        }
        CompletableFuture<Void> all = new CompletableFuture<>();
        AtomicReference<String> wrong = new AtomicReference<>();
        int[] left = {n};
        loop.execute(() -> {
            for (int i = 0; i < n; i++) {
                ByteBuffer b = engine.buffers().acquire(4096);
                b.put(data[i]).flip();
                int block = i;
                engine.write(i * 4096L, b, result -> {
                    if (!loop.inLoop() || result != 0) {
                        wrong.compareAndSet(null, "write #" + block + ": " + Errno.name(result) + " on "
                                + Thread.currentThread().getName());
                    }
                    engine.buffers().release(b);
                    if (--left[0] == 0) {
                        all.complete(null);
                    }
                });
            }
        });
        all.get(30, TimeUnit.SECONDS);
        assertNull(wrong.get());
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
            byte[] got = new byte[4096];
            b.get(0, got);
            assertArrayEquals(data[i], got, "block " + i);
            engine.buffers().release(b);
        }
        CompletableFuture<Integer> zeroed = new CompletableFuture<>();
        AtomicReference<Thread> zeroOn = new AtomicReference<>();
        engine.writeZeroes(0, 8192, true, false, result -> {
            zeroOn.set(Thread.currentThread());
            zeroed.complete(result);
        });
        assertEquals(0, zeroed.get(30, TimeUnit.SECONDS));
        assertSame(loop.thread(), zeroOn.get(), "the helper's results come back on the loop");
        assertArrayEquals(new byte[8192], Scratch.readPlain(file, 0, 8192));
    }
}
