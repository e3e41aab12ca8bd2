package io.repl.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.repl.io.aio.AioEngine;
import io.repl.io.uring.IoUringEngine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Engine selection: probing, forcing, and each fallback serving when the engines before it are switched off. */
class EnginesTest {
    private static final long SIZE = 4L << 20;
    private Scratch scratch;
    private Path file;

    @BeforeEach
    void setUp() throws IOException {
        scratch = new Scratch();
        file = Scratch.volumeFile(scratch.dir(), "volume", SIZE);
    }

    @AfterEach
    void tearDown() throws IOException {
        System.clearProperty(Engines.DISABLE_PROPERTY);
        System.clearProperty(Engines.LIBAIO_DISABLE_PROPERTY);
        scratch.close();
    }

    @Test
    void autoPicksIoUringWhereTheKernelAllowsIt() throws IOException {
        assumeTrue(IoUringEngine.kernelRefusal() == null, "io_uring refused here");
        assumeTrue(System.getenv(Engines.DISABLE_ENV) == null, Engines.DISABLE_ENV + " is set");
        try (BlockEngine e = Engines.open(Backing.probe(file), SIZE, EngineKind.AUTO)) {
            assertEquals("io_uring", e.name());
            roundTrip(e);
        }
    }

    @Test
    void autoFallsBackToLibaioWhenIoUringIsDisabledAndServes() throws IOException {
        assumeTrue(AioEngine.kernelRefusal() == null, "Linux AIO refused here");
        assumeTrue(System.getenv(Engines.LIBAIO_DISABLE_ENV) == null, Engines.LIBAIO_DISABLE_ENV + " is set");
        System.setProperty(Engines.DISABLE_PROPERTY, "true");
        try (BlockEngine e = Engines.open(Backing.probe(file), SIZE, EngineKind.AUTO)) {
            assertEquals("libaio", e.name());
            roundTrip(e);
        }
    }

    @Test
    void autoFallsBackToFileChannelWhenIoUringAndLibaioAreDisabledAndServes() throws IOException {
        System.setProperty(Engines.DISABLE_PROPERTY, "true");
        System.setProperty(Engines.LIBAIO_DISABLE_PROPERTY, "true");
        try (BlockEngine e = Engines.open(Backing.probe(file), SIZE, EngineKind.AUTO)) {
            assertEquals("filechannel", e.name());
            roundTrip(e);
        }
    }

    @Test
    void forcedIoUringThatIsDisabledFailsWithAClearMessage() {
        System.setProperty(Engines.DISABLE_PROPERTY, "true");
        IOException e = assertThrows(IOException.class,
                () -> Engines.open(Backing.probe(file), SIZE, EngineKind.IO_URING));
        assertTrue(e.getMessage().contains("io_uring") && e.getMessage().contains(Engines.DISABLE_PROPERTY),
                e.getMessage());
    }

    @Test
    void forcedLibaioThatIsDisabledFailsWithAClearMessage() {
        System.setProperty(Engines.LIBAIO_DISABLE_PROPERTY, "true");
        IOException e = assertThrows(IOException.class,
                () -> Engines.open(Backing.probe(file), SIZE, EngineKind.LIBAIO));
        assertTrue(e.getMessage().contains("libaio") && e.getMessage().contains(Engines.LIBAIO_DISABLE_PROPERTY),
                e.getMessage());
    }

    @Test
    void forcedLibaioIsHonoured() throws IOException {
        assumeTrue(AioEngine.kernelRefusal() == null, "Linux AIO refused here");
        try (BlockEngine e = Engines.open(Backing.probe(file), SIZE, EngineKind.LIBAIO)) {
            assertEquals("libaio", e.name());
            roundTrip(e);
        }
    }

    @Test
    void forcedFileChannelIsHonoured() throws IOException {
        try (BlockEngine e = Engines.open(Backing.probe(file), SIZE, EngineKind.FILECHANNEL)) {
            assertEquals("filechannel", e.name());
            roundTrip(e);
        }
    }

    @Test
    void aVolumeLargerThanItsBackingIsRefusedByEveryKind() throws IOException {
        Backing b = Backing.probe(file);
        for (EngineKind k : EngineKind.values()) {
            assertThrows(IOException.class, () -> Engines.open(b, SIZE * 2, k), k.configName());
        }
    }

    private void roundTrip(BlockEngine e) {
        byte[] data = Scratch.random(new Random(12), 64 << 10);
        ByteBuffer b = e.buffers().acquire(data.length);
        b.put(data).flip();
        Completion w = new Completion();
        e.write(1 << 20, b, w);
        assertEquals(0, w.await());
        Completion f = new Completion();
        e.flush(f);
        assertEquals(0, f.await());
        ByteBuffer r = e.buffers().acquire(data.length);
        Completion rd = new Completion();
        e.read(1 << 20, r, rd);
        assertEquals(0, rd.await());
        byte[] got = new byte[data.length];
        r.get(0, got);
        assertArrayEquals(data, got);
        assertArrayEquals(data, Scratch.readPlain(file, 1 << 20, data.length), "bytes in the file");
    }
}
