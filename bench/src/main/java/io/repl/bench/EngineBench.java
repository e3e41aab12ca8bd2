package io.repl.bench;

import io.repl.io.Backing;
import io.repl.io.BlockEngine;
import io.repl.io.EngineKind;
import io.repl.io.Engines;
import io.repl.io.LibC;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Writes through each block engine, side by side in one run: 4 KiB random writes at queue
 * depth 1 and 32, and 1 MiB sequential writes at depth 8. Scores are operations per second,
 * so the 4 KiB scores are IOPS.
 *
 * <p>The backing file lives in {@code bench/work/} (or {@code -Drepl.bench.dir}), which must
 * be on a real file system: O_DIRECT is what is being measured, and tmpfs would hide the disk.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx512m"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
public class EngineBench {
    private static final long FILE_BYTES = 512L << 20;
    private static final int SMALL_BYTES = 4096;
    private static final int LARGE_BYTES = 1 << 20;

    @Param({"io_uring", "filechannel"})
    public String engine;

    private Path file;
    private BlockEngine e;
    private ByteBuffer small;
    private ByteBuffer large;
    private long sequentialAt;

    @Setup(Level.Trial)
    public void open() throws IOException {
        Path dir = Path.of(System.getProperty("repl.bench.dir", "bench/work"));
        Files.createDirectories(dir);
        file = dir.resolve("engine-bench-" + engine + ".img");
        preallocate(file);
        EngineKind kind = EngineKind.parse(engine);
        e = Engines.open(Backing.probe(file), FILE_BYTES, kind);
        if (!e.name().equals(engine) || !e.direct()) {
            throw new IllegalStateException("wanted " + engine + " with O_DIRECT, got " + e);
        }
        small = e.buffers().acquire(SMALL_BYTES);
        large = e.buffers().acquire(LARGE_BYTES);
        for (int i = 0; i < LARGE_BYTES; i++) {
            large.put(i, (byte) (i * 31));
        }
        for (int i = 0; i < SMALL_BYTES; i++) {
            small.put(i, (byte) (i * 17));
        }
    }

    /** Allocated blocks, so that the benchmark measures writes and not block allocation. */
    private static void preallocate(Path p) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(FILE_BYTES);
        }
        LibC c = LibC.get();
        int fd = c.open(p.toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        if (fd < 0 || c.fallocate(fd, 0, 0, FILE_BYTES) != 0) {
            throw new IOException(p + ": fallocate failed: " + c.strerror(LibC.lastErrno()));
        }
        c.close(fd);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        e.close();
        Files.deleteIfExists(file);
    }

    @Benchmark
    @OperationsPerInvocation(64)
    public void randomWrite4kQd1() throws InterruptedException {
        new Pump(e, 64, 1, this::randomSmall).run();
    }

    @Benchmark
    @OperationsPerInvocation(1024)
    public void randomWrite4kQd32() throws InterruptedException {
        new Pump(e, 1024, 32, this::randomSmall).run();
    }

    @Benchmark
    @OperationsPerInvocation(64)
    public void sequentialWrite1mQd8() throws InterruptedException {
        new Pump(e, 64, 8, this::nextLarge).run();
    }

    private void randomSmall(BlockEngine engine, io.repl.io.IoCallback done) {
        long block = ThreadLocalRandom.current().nextLong(FILE_BYTES / SMALL_BYTES);
        engine.write(block * SMALL_BYTES, small.duplicate(), done);
    }

    private void nextLarge(BlockEngine engine, io.repl.io.IoCallback done) {
        long at;
        synchronized (this) {
            at = sequentialAt;
            sequentialAt = (sequentialAt + LARGE_BYTES) % FILE_BYTES;
        }
        engine.write(at, large.duplicate(), done);
    }
}
