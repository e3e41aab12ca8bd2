package io.repl.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.repl.io.uring.IoUringEngine;
import io.repl.io.uring.PollLoop;
import io.repl.io.uring.ScriptedRing;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The io_uring engine under load and on failure, on its own thread and on an event loop: a
 * ring far smaller than the load, a kernel that refuses submissions or answers EAGAIN, a
 * close and a broken ring with requests in flight. The kernel's answers are scripted by a
 * {@link ScriptedRing}, which also sees whether a buffer is ever handed back while the kernel
 * may still hold it.
 */
class IoUringPressureTest {
    private static final long SIZE = 16L << 20;
    private static PollLoop loop;
    private Scratch scratch;
    private Path file;

    @BeforeAll
    static void ioUringAvailable() {
        String refused = IoUringEngine.kernelRefusal();
        assumeTrue(refused == null, "io_uring refused on this machine: " + refused);
        loop = new PollLoop("pressure-loop");
    }

    @AfterAll
    static void stopLoop() throws InterruptedException {
        if (loop != null) {
            loop.close();
        }
    }

    @BeforeEach
    void setUp() throws IOException {
        scratch = new Scratch();
        file = Scratch.volumeFile(scratch.dir(), "volume", SIZE);
    }

    @AfterEach
    void tearDown() throws IOException {
        scratch.close();
    }

    private static EngineLoop driver(boolean onLoop) {
        return onLoop ? loop : null;
    }

    private static ByteBuffer bufferOf(BlockEngine e, byte[] data) {
        ByteBuffer b = e.buffers().acquire(data.length);
        b.put(data).flip();
        return b;
    }

    /** Writes {@code data[i]} at block {@code i} from two threads at once, all in flight together. */
    private static Completion[] writeAll(BlockEngine e, byte[][] data, int blockBytes) throws InterruptedException {
        Completion[] writes = new Completion[data.length];
        Thread[] threads = new Thread[2];
        for (int t = 0; t < threads.length; t++) {
            int first = t;
            threads[t] = new Thread(() -> {
                for (int i = first; i < data.length; i += threads.length) {
                    writes[i] = new Completion();
                    e.write((long) i * blockBytes, bufferOf(e, data[i]), writes[i]);
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        return writes;
    }

    private static byte[][] randomBlocks(int count, int blockBytes, long seed) {
        Random rnd = new Random(seed);
        byte[][] data = new byte[count][];
        for (int i = 0; i < count; i++) {
            data[i] = Scratch.random(rnd, blockBytes);
        }
        return data;
    }

    /** Reads every block back through the engine, all in flight at once, and compares. */
    private static void assertReadsBack(BlockEngine e, byte[][] data, int blockBytes) {
        Completion[] reads = new Completion[data.length];
        ByteBuffer[] into = new ByteBuffer[data.length];
        for (int i = 0; i < data.length; i++) {
            into[i] = e.buffers().acquire(blockBytes);
            reads[i] = new Completion();
            e.read((long) i * blockBytes, into[i], reads[i]);
        }
        for (int i = 0; i < data.length; i++) {
            assertEquals(0, reads[i].await(), "read #" + i);
            assertEquals(1, reads[i].calls(), "callbacks of read #" + i);
            byte[] got = new byte[blockBytes];
            into[i].get(0, got);
            assertArrayEquals(data[i], got, "block " + i + " through the engine");
        }
    }

    private void assertInFile(byte[][] data, int blockBytes) {
        for (int i = 0; i < data.length; i++) {
            assertArrayEquals(data[i], Scratch.readPlain(file, (long) i * blockBytes, blockBytes), "block " + i + " in the file");
        }
    }

    private static void assertHandedBackCleanly(ScriptedRing ring) {
        assertEquals(0, ring.handedBackUnderKernel(), "callbacks run while the kernel might hold the buffer");
        assertEquals(0, ring.sqesInKernelAtRelease(), "SQEs the kernel might hold when the ring was unmapped");
    }

    @ParameterizedTest(name = "onLoop={0}")
    @ValueSource(booleans = {false, true})
    void aRingOfFourServesThousandsOfRequestsInFlight(boolean onLoop) throws Exception {
        int count = 2048;
        int blockBytes = 4096;
        byte[][] data = randomBlocks(count, blockBytes, 21);
        ScriptedRing ring = new ScriptedRing();
        try (IoUringEngine e = ring.open(Backing.probe(file), SIZE, 4, driver(onLoop))) {
            assertEquals(3, e.inFlightMax());
            Completion[] writes = writeAll(e, data, blockBytes);
            for (int i = 0; i < count; i++) {
                assertEquals(0, writes[i].await(), "write #" + i);
            }
            assertReadsBack(e, data, blockBytes);
            for (Completion w : writes) {
                assertEquals(1, w.calls());
            }
        }
        assertInFile(data, blockBytes);
        assertHandedBackCleanly(ring);
    }

    /**
     * io_uring_enter answering -EAGAIN (no memory for requests now) or -EBUSY (completions to
     * post first) is backpressure: the SQEs stay and go later, nothing fails, the ring lives.
     */
    @ParameterizedTest(name = "errno={0} onLoop={1}")
    @CsvSource({"11,false", "11,true", "16,false", "16,true"})
    void refusedSubmissionsWaitAndLandAndTheRingServesOn(int errno, boolean onLoop) throws Exception {
        int count = 512;
        int blockBytes = 8192;
        byte[][] data = randomBlocks(count, blockBytes, 22);
        ScriptedRing ring = new ScriptedRing();
        try (IoUringEngine e = ring.open(Backing.probe(file), SIZE, 8, driver(onLoop))) {
            ring.refuseEveryOtherSubmit(errno, 300);
            Completion[] writes = writeAll(e, data, blockBytes);
            for (int i = 0; i < count; i++) {
                assertEquals(0, writes[i].await(), "write #" + i + " while the kernel refused submissions");
            }
            assertTrue(ring.refused() > 0, "the script refused nothing");
            assertReadsBack(e, data, blockBytes);
            Completion f = new Completion();
            e.flush(f);
            assertEquals(0, f.await());
        }
        assertInFile(data, blockBytes);
        assertHandedBackCleanly(ring);
    }

    /** A CQE with -EAGAIN is the kernel's "not now" for that request: resubmitted, never an error. */
    @ParameterizedTest(name = "onLoop={0}")
    @ValueSource(booleans = {false, true})
    void completionsAnsweredWithEagainAreResubmittedAndNeverReported(boolean onLoop) throws Exception {
        int count = 256;
        int blockBytes = 16384;
        byte[][] data = randomBlocks(count, blockBytes, 23);
        // Three in a row for one request, well inside the engine's bound on retries.
        ScriptedRing ring = new ScriptedRing();
        try (IoUringEngine e = ring.open(Backing.probe(file), SIZE, 8, driver(onLoop))) {
            ring.againCompletions(100_000, 3);
            Completion[] writes = writeAll(e, data, blockBytes);
            for (int i = 0; i < count; i++) {
                assertEquals(0, writes[i].await(), "write #" + i);
            }
            assertReadsBack(e, data, blockBytes);
            Completion f = new Completion();
            e.flush(f);
            assertEquals(0, f.await());
            Completion z = new Completion();
            e.writeZeroes(0, blockBytes, false, false, z);
            assertEquals(0, z.await());
            data[0] = new byte[blockBytes];
        }
        assertTrue(ring.againInjected() >= 3 * (2 * count + 2), "EAGAIN answers injected: " + ring.againInjected());
        assertInFile(data, blockBytes);
        assertHandedBackCleanly(ring);
    }

    /**
     * When the kernel answers EAGAIN past the engine's bound, the request completes with
     * -EAGAIN, "not done, the disk has not failed", never -EIO, and the ring serves on.
     */
    @ParameterizedTest(name = "onLoop={0}")
    @ValueSource(booleans = {false, true})
    void aRequestTheKernelKeepsRefusingCompletesWithEagainNotEio(boolean onLoop) throws Exception {
        ScriptedRing ring = new ScriptedRing();
        byte[] data = Scratch.random(new Random(24), 4096);
        try (IoUringEngine e = ring.open(Backing.probe(file), SIZE, 8, driver(onLoop))) {
            ring.againCompletions(Integer.MAX_VALUE, Integer.MAX_VALUE);
            Completion stuck = new Completion();
            e.write(0, bufferOf(e, data), stuck);
            assertEquals(-Errno.EAGAIN, stuck.await());
            ring.againCompletions(0, 0);
            Completion then = new Completion();
            e.write(4096, bufferOf(e, data), then);
            assertEquals(0, then.await(), "the ring serves on");
            assertEquals(1, stuck.calls());
        }
        assertArrayEquals(data, Scratch.readPlain(file, 4096, 4096));
        assertHandedBackCleanly(ring);
    }

    /** Close waits for the kernel to hand back every request, and each callback runs once after that. */
    @ParameterizedTest(name = "onLoop={0}")
    @ValueSource(booleans = {false, true})
    void closeWithRequestsInFlightCompletesEachOnceAfterTheKernelIsDone(boolean onLoop) throws Exception {
        int count = 192;
        int blockBytes = 64 << 10;
        byte[][] data = randomBlocks(count, blockBytes, 25);
        ScriptedRing ring = new ScriptedRing();
        IoUringEngine e = ring.open(Backing.probe(file), SIZE, 8, driver(onLoop));
        int selfTest = ring.handedBack();
        ring.againCompletions(200, 1);
        Completion[] writes = writeAll(e, data, blockBytes);
        Completion[] reads = new Completion[count];
        for (int i = 0; i < count; i++) {
            reads[i] = new Completion();
            e.read(SIZE - (long) (i + 1) * blockBytes, e.buffers().acquire(blockBytes), reads[i]);
        }
        e.close();
        for (int i = 0; i < count; i++) {
            assertTrue(writes[i].done() && reads[i].done(), "close returned before request #" + i + " completed");
            assertEquals(0, writes[i].result(), "write #" + i);
            assertEquals(0, reads[i].result(), "read #" + i);
            assertEquals(1, writes[i].calls());
            assertEquals(1, reads[i].calls());
        }
        assertEquals(2 * count, ring.handedBack() - selfTest, "callbacks through the ring");
        assertInFile(data, blockBytes);
        assertHandedBackCleanly(ring);
    }

    /**
     * A ring that breaks (io_uring_enter fails with EBADF) with requests in flight: those the
     * kernel never saw fail with -EIO at once, those it holds complete with their own result
     * once it hands them back, each exactly once; only then is the ring unmapped, and new
     * requests fail with -EIO.
     */
    @ParameterizedTest(name = "onLoop={0}")
    @ValueSource(booleans = {false, true})
    void aBrokenRingHandsBackEveryBufferOnceAndOnlyAfterTheKernel(boolean onLoop) throws Exception {
        int count = 64;
        int blockBytes = 256 << 10;
        byte[][] data = randomBlocks(count, blockBytes, 26);
        ScriptedRing ring = new ScriptedRing();
        IoUringEngine e = ring.open(Backing.probe(file), SIZE, 8, driver(onLoop));
        try {
            ring.failSubmitAfter(3, Errno.EBADF);
            Completion[] writes = writeAll(e, data, blockBytes);
            int failed = 0;
            for (int i = 0; i < count; i++) {
                int r = writes[i].await();
                assertTrue(r == 0 || r == -Errno.EIO, "write #" + i + ": " + Errno.name(r));
                if (r == 0) {
                    assertArrayEquals(data[i], Scratch.readPlain(file, (long) i * blockBytes, blockBytes),
                            "write #" + i + " reported done");
                } else {
                    failed++;
                }
            }
            assertTrue(failed > 0, "the SQEs of the refused submission failed");
            Completion late = new Completion();
            e.flush(late);
            assertEquals(-Errno.EIO, late.await(), "a request to the broken ring");
        } finally {
            e.close();
        }
        e.close();
        assertHandedBackCleanly(ring);
    }

    /**
     * The documented bound: a caller with {@link BlockEngine#OUTSTANDING_ACCEPTED_MIN}
     * requests outstanding is never refused; the next one is, with -EAGAIN on the calling
     * thread before the call returns, and that is no failure: the ring serves on. On the loop's
     * own thread nothing reaches the ring until the burst ends, so the count is exact.
     */
    @Test
    void pastTheBoundARequestIsRefusedWithEagainOnTheCallingThreadAndTheRingServesOn() throws Exception {
        int extra = 8;
        int total = BlockEngine.OUTSTANDING_ACCEPTED_MIN + extra;
        ScriptedRing ring = new ScriptedRing();
        try (IoUringEngine e = ring.open(Backing.probe(file), SIZE, 64, loop)) {
            Completion[] flushes = new Completion[total];
            CompletableFuture<Integer> refusedInline = new CompletableFuture<>();
            loop.execute(() -> {
                int refused = 0;
                for (int i = 0; i < total; i++) {
                    flushes[i] = new Completion();
                    e.flush(flushes[i]);
                    if (flushes[i].done()) {
                        assertEquals(-Errno.EAGAIN, flushes[i].result(), "flush #" + i + " completed inline");
                        refused++;
                    }
                }
                refusedInline.complete(refused);
            });
            assertEquals(extra, refusedInline.get(60, TimeUnit.SECONDS));
            for (int i = 0; i < BlockEngine.OUTSTANDING_ACCEPTED_MIN; i++) {
                assertEquals(0, flushes[i].await(), "flush #" + i);
            }
            byte[] data = Scratch.random(new Random(27), 4096);
            Completion w = new Completion();
            e.write(0, bufferOf(e, data), w);
            assertEquals(0, w.await());
            assertArrayEquals(data, Scratch.readPlain(file, 0, 4096));
        }
        assertHandedBackCleanly(ring);
    }

    /**
     * On the loop, a read goes to the kernel before {@code read()} returns, while a write
     * waits for the burst's one submission; reads started from callbacks, one after another,
     * read back what was written.
     */
    @Test
    void onTheLoopAReadIsSubmittedAtOnceAndAWriteWithItsBurst() throws Exception {
        int blocks = 32;
        int blockBytes = 4096;
        byte[][] data = randomBlocks(blocks, blockBytes, 28);
        ScriptedRing ring = new ScriptedRing();
        try (IoUringEngine e = ring.open(Backing.probe(file), SIZE, 16, loop)) {
            Completion[] writes = writeAll(e, data, blockBytes);
            for (int i = 0; i < blocks; i++) {
                assertEquals(0, writes[i].await(), "write #" + i);
            }
            ByteBuffer into = e.buffers().acquire(blockBytes);
            Completion read = new Completion();
            Completion write = new Completion();
            CompletableFuture<int[]> submits = new CompletableFuture<>();
            loop.execute(() -> {
                int before = ring.submits();
                e.read(0, into, read);
                int afterRead = ring.submits();
                e.write((long) blocks * blockBytes, bufferOf(e, data[1]), write);
                submits.complete(new int[] {before, afterRead, ring.submits()});
            });
            int[] n = submits.get(60, TimeUnit.SECONDS);
            assertEquals(n[0] + 1, n[1], "io_uring_enter calls made by read() on the loop");
            assertEquals(n[1], n[2], "io_uring_enter calls made by write() on the loop");
            assertEquals(0, read.await());
            assertEquals(0, write.await());
            byte[] got = new byte[blockBytes];
            into.get(0, got);
            assertArrayEquals(data[0], got);
            assertArrayEquals(data[1], Scratch.readPlain(file, (long) blocks * blockBytes, blockBytes));

            int chain = 500;
            CompletableFuture<Integer> chained = new CompletableFuture<>();
            IoCallback[] next = new IoCallback[1];
            int[] done = new int[1];
            next[0] = result -> {
                int block = done[0] % blocks;
                byte[] b = new byte[blockBytes];
                into.get(0, b);
                if (result != 0 || !java.util.Arrays.equals(data[block], b)) {
                    chained.completeExceptionally(new AssertionError("chained read #" + done[0] + " of block "
                            + block + ": " + Errno.name(result)));
                    return;
                }
                if (++done[0] == chain) {
                    chained.complete(done[0]);
                } else {
                    e.read((long) (done[0] % blocks) * blockBytes, into, next[0]);
                }
            };
            loop.execute(() -> e.read(0, into, next[0]));
            assertEquals(chain, chained.get(60, TimeUnit.SECONDS));
        }
        assertHandedBackCleanly(ring);
    }

    /** A ring that breaks while a read is submitted at once fails it later, never inside {@code read()}. */
    @Test
    void aReadSubmittedAtOnceOnABrokenRingFailsOutsideTheCall() throws Exception {
        ScriptedRing ring = new ScriptedRing();
        IoUringEngine e = ring.open(Backing.probe(file), SIZE, 16, loop);
        try {
            ring.failSubmitAfter(0, Errno.EBADF);
            Completion read = new Completion();
            CompletableFuture<Boolean> doneInside = new CompletableFuture<>();
            loop.execute(() -> {
                e.read(0, e.buffers().acquire(4096), read);
                doneInside.complete(read.done());
            });
            assertFalse(doneInside.get(60, TimeUnit.SECONDS), "the callback ran inside read()");
            assertEquals(-Errno.EIO, read.await());
            Completion late = new Completion();
            e.flush(late);
            assertEquals(-Errno.EIO, late.await(), "a request to the broken ring");
        } finally {
            e.close();
        }
        assertHandedBackCleanly(ring);
    }
}
