package io.repl.io.kernel;

import io.repl.io.BlockEngine;
import io.repl.io.Errno;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Proves a freshly opened engine (its io_uring ring, its AIO context) moves the right bytes
 * before it is trusted with data.
 *
 * <p>It must not change the volume, so it reads the first block through the engine, compares
 * it with a plain read of the same block, and only if they agree writes those same bytes back,
 * reads them again and flushes. A binding that passed a wrong address or length fails the
 * comparison before anything is written.
 */
public final class SelfTest {
    private static final long WAIT_SECONDS = 10;

    private SelfTest() {}

    public static void run(BlockEngine engine, java.nio.file.Path backing) throws IOException {
        int length = engine.alignment();
        ByteBuffer first = engine.buffers().acquire(length);
        ByteBuffer again = engine.buffers().acquire(length);
        ByteBuffer plain = ByteBuffer.allocate(length);
        try {
            // Poison both buffers so that a read which moved nothing cannot pass.
            fill(first, (byte) 0xA5);
            fill(again, (byte) 0x5A);
            expectOk(engine, "read", call(engine.name(), cb -> engine.read(0, first, cb)));
            readPlain(engine.name(), backing, plain);
            if (!first.duplicate().clear().limit(length).equals(plain.clear())) {
                throw new IOException(engine.name() + " self-test: the engine read other bytes than a plain read");
            }
            expectOk(engine, "write", call(engine.name(), cb -> engine.write(0, first, cb)));
            expectOk(engine, "read back", call(engine.name(), cb -> engine.read(0, again, cb)));
            if (!again.duplicate().clear().limit(length).equals(plain.clear())) {
                throw new IOException(engine.name() + " self-test: read back differs from what was written");
            }
            expectOk(engine, "flush", call(engine.name(), engine::flush));
        } finally {
            engine.buffers().release(first);
            engine.buffers().release(again);
        }
    }

    private static void readPlain(String engine, java.nio.file.Path path, ByteBuffer plain) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            while (plain.hasRemaining()) {
                if (ch.read(plain, plain.position()) < 0) {
                    throw new IOException(engine + " self-test: " + path + " ends inside its first block");
                }
            }
        }
    }

    private static void fill(ByteBuffer b, byte value) {
        for (int i = 0; i < b.limit(); i++) {
            b.put(i, value);
        }
    }

    private static void expectOk(BlockEngine engine, String what, int result) throws IOException {
        if (result != 0) {
            throw new IOException(engine.name() + " self-test " + what + " failed: " + Errno.name(result));
        }
    }

    private interface Call {
        void start(io.repl.io.IoCallback cb);
    }

    private static int call(String engine, Call c) throws IOException {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        c.start(f::complete);
        try {
            return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new IOException(engine + " self-test: no completion within " + WAIT_SECONDS + " s");
        } catch (ExecutionException e) {
            throw new IOException(engine + " self-test failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(engine + " self-test interrupted");
        }
    }
}
