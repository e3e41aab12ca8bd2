package io.repl.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.repl.io.aio.AioEngine;
import io.repl.io.aio.ScriptedAio;
import io.repl.io.uring.PollLoop;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the Linux AIO engine adds to the contract, reaped by its own thread and by a loop:
 * more requests than slots, waiting their turn; submissions the kernel refuses for now.
 */
class AioEngineTest {
    private static final long SIZE = 8L << 20;
    private static PollLoop loop;
    private Scratch scratch;
    private Path file;

    @BeforeAll
    static void aioAvailable() {
        assumeTrue(AioEngine.kernelRefusal() == null, "Linux AIO refused here: " + AioEngine.kernelRefusal());
        loop = new PollLoop("aio-engine-test-loop");
    }

    @AfterAll
    static void stopLoop() throws InterruptedException {
        if (loop != null) {
            loop.close();
        }
    }

    private static EngineLoop driver(boolean onLoop) {
        return onLoop ? loop : null;
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

    @ParameterizedTest(name = "onLoop={0}")
    @ValueSource(booleans = {false, true})
    void requestsBeyondTheSlotsWaitTheirTurnAndEachCompletesOnceWithItsData(boolean onLoop) throws IOException {
        writeAndCheck(new ScriptedAio(), 600, 4, onLoop);
    }

    /**
     * io_submit answering -EAGAIN is backpressure, never a failure: with other requests in the
     * kernel the refused one goes again after the next completion; with none (a single
     * request, refused several times in a row) it goes again a moment later.
     */
    @ParameterizedTest(name = "onLoop={0}")
    @ValueSource(booleans = {false, true})
    void submissionsRefusedWithEagainGoAgainAndLand(boolean onLoop) throws IOException {
        ScriptedAio many = new ScriptedAio().refuseWithEagain(3, 100);
        writeAndCheck(many, 300, 8, onLoop);
        assertEquals(100, many.refused());
        ScriptedAio alone = new ScriptedAio().refuseWithEagain(1, 5);
        writeAndCheck(alone, 1, 1, onLoop);
        assertEquals(5, alone.refused());
    }

    /** Writes {@code n} random blocks through an engine of {@code slots} slots behind {@code script}. */
    private void writeAndCheck(ScriptedAio script, int n, int slots, boolean onLoop) throws IOException {
        byte[][] data = new byte[n][];
        Completion[] writes = new Completion[n];
        Random rnd = new Random(41 + n);
        try (AioEngine e = script.open(Backing.probe(file), SIZE, slots, driver(onLoop))) {
            for (int i = 0; i < n; i++) {
                data[i] = Scratch.random(rnd, 4096);
                ByteBuffer b = e.buffers().acquire(4096);
                b.put(data[i]).flip();
                writes[i] = new Completion();
                e.write((long) i * 4096, b, writes[i]);
            }
            for (int i = 0; i < n; i++) {
                assertEquals(0, writes[i].await(), "write #" + i);
            }
            Completion f = new Completion();
            e.flush(f);
            assertEquals(0, f.await());
        }
        for (int i = 0; i < n; i++) {
            assertEquals(1, writes[i].calls(), "callbacks of write #" + i);
            assertArrayEquals(data[i], Scratch.readPlain(file, (long) i * 4096, 4096), "block of write #" + i);
        }
    }

    @ParameterizedTest(name = "onLoop={0}")
    @ValueSource(booleans = {false, true})
    void closingWithRequestsStillWaitingForASlotRunsThemAllFirst(boolean onLoop) throws IOException {
        int n = 200;
        Completion[] flushes = new Completion[n];
        AioEngine e = AioEngine.open(Backing.probe(file), SIZE, 2, driver(onLoop));
        for (int i = 0; i < n; i++) {
            flushes[i] = new Completion();
            e.flush(flushes[i]);
        }
        e.close();
        for (int i = 0; i < n; i++) {
            assertEquals(0, flushes[i].await(), "flush #" + i);
            assertEquals(1, flushes[i].calls(), "callbacks of flush #" + i);
        }
        Completion late = new Completion();
        e.flush(late);
        assertEquals(-Errno.ESHUTDOWN, late.await());
    }
}
