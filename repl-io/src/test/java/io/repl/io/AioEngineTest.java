package io.repl.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.repl.io.aio.AioEngine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the Linux AIO engine adds to the contract: more requests than slots, waiting their turn. */
class AioEngineTest {
    private static final long SIZE = 8L << 20;
    private Scratch scratch;
    private Path file;

    @BeforeAll
    static void aioAvailable() {
        assumeTrue(AioEngine.kernelRefusal() == null, "Linux AIO refused here: " + AioEngine.kernelRefusal());
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

    @Test
    void requestsBeyondTheSlotsWaitTheirTurnAndEachCompletesOnceWithItsData() throws IOException {
        int n = 600;
        byte[][] data = new byte[n][];
        Completion[] writes = new Completion[n];
        Random rnd = new Random(41);
        try (AioEngine e = AioEngine.open(Backing.probe(file), SIZE, 4)) {
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

    @Test
    void closingWithRequestsStillWaitingForASlotRunsThemAllFirst() throws IOException {
        int n = 200;
        Completion[] flushes = new Completion[n];
        AioEngine e = AioEngine.open(Backing.probe(file), SIZE, 2);
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
