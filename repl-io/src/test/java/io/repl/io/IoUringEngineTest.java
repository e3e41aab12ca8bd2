package io.repl.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.repl.io.uring.IoUringEngine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What only the io_uring engine has: a ring smaller than the load, and zeroing by writes in chunks. */
class IoUringEngineTest {
    private static final long SIZE = 8L << 20;
    private Scratch scratch;
    private Path file;

    @BeforeAll
    static void ioUringAvailable() {
        String refused = IoUringEngine.kernelRefusal();
        assumeTrue(refused == null, "io_uring refused on this machine: " + refused);
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
    void aRingOfEightServesTwoThousandRequestsInFlightFromFourThreads() throws Exception {
        int count = 2048;
        Random rnd = new Random(13);
        byte[][] data = new byte[count][];
        for (int i = 0; i < count; i++) {
            data[i] = Scratch.random(rnd, 4096);
        }
        Completion[] writes = new Completion[count];
        try (IoUringEngine e = IoUringEngine.open(Backing.probe(file), SIZE, 8)) {
            assertEquals(7, e.inFlightMax(), "one of eight entries is held by the wakeup read");
            Thread[] threads = new Thread[4];
            for (int t = 0; t < threads.length; t++) {
                int first = t;
                threads[t] = new Thread(() -> {
                    for (int i = first; i < count; i += 4) {
                        ByteBuffer b = e.buffers().acquire(4096);
                        b.put(data[i]).flip();
                        writes[i] = new Completion();
                        e.write(i * 4096L, b, writes[i]);
                    }
                });
                threads[t].start();
            }
            for (Thread t : threads) {
                t.join();
            }
            for (int i = 0; i < count; i++) {
                assertEquals(0, writes[i].await(), "write #" + i);
            }
        }
        for (int i = 0; i < count; i++) {
            assertEquals(1, writes[i].calls(), "callbacks of write #" + i);
            assertArrayEquals(data[i], Scratch.readPlain(file, i * 4096L, 4096), "block " + i);
        }
    }

    /**
     * On a block device a durable write is one RWF_DSYNC write (on files it is a write and an
     * fsync, which the contract suite covers). Data and error results must be those of a write.
     */
    @Test
    void durableWritesOnABlockDevice() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for losetup");
        Process p = new ProcessBuilder("losetup", "-f", "--show", "--direct-io=on", file.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        assumeTrue(p.waitFor() == 0 && out.startsWith("/dev/loop"), "no loop device: " + out);
        Path loop = Path.of(out);
        try {
            Backing b = Backing.probe(loop);
            assertTrue(b.blockDevice());
            Random rnd = new Random(15);
            try (IoUringEngine e = IoUringEngine.open(b, SIZE, 16)) {
                for (int i = 0; i < 64; i++) {
                    byte[] data = Scratch.random(rnd, 4096 * (1 + i % 4));
                    long offset = 4096L * rnd.nextInt((int) (SIZE / 4096) - 4);
                    ByteBuffer buf = e.buffers().acquire(data.length);
                    buf.put(data).flip();
                    Completion c = new Completion();
                    e.writeDurable(offset, buf, c);
                    assertEquals(0, c.await(), "durable write #" + i);
                    assertEquals(1, c.calls());
                    ByteBuffer back = e.buffers().acquire(data.length);
                    Completion r = new Completion();
                    e.read(offset, back, r);
                    assertEquals(0, r.await());
                    byte[] got = new byte[data.length];
                    back.get(0, got);
                    assertArrayEquals(data, got, "read back of durable write #" + i);
                }
                ByteBuffer buf = e.buffers().acquire(4096);
                Completion past = new Completion();
                e.writeDurable(SIZE, buf, past);
                assertEquals(-Errno.EINVAL, past.await(), "durable write past the end");
            }
        } finally {
            new ProcessBuilder("losetup", "-d", loop.toString()).start().waitFor();
        }
    }

    @Test
    void callbacksMaySubmitAndCloseFromTheRingThread() throws Exception {
        byte[] data = Scratch.random(new Random(14), 4096);
        Completion second = new Completion();
        Completion first = new Completion();
        try (IoUringEngine e = IoUringEngine.open(Backing.probe(file), SIZE, 8)) {
            ByteBuffer b = e.buffers().acquire(4096);
            b.put(data).flip();
            e.write(0, b, r -> {
                first.complete(r);
                // A chained request from inside a callback, then a close from the ring thread.
                e.write(4096, b, second);
                e.close();
            });
            assertEquals(0, first.await());
            assertEquals(0, second.await());
            Completion late = new Completion();
            e.flush(late);
            assertEquals(-Errno.ESHUTDOWN, late.await());
        }
        assertArrayEquals(data, Scratch.readPlain(file, 4096, 4096));
    }
}
