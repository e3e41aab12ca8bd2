package io.repl.agent.volume;

import io.repl.io.AlignedBuffers;
import io.repl.io.Errno;
import io.repl.io.IoCallback;
import java.nio.ByteBuffer;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A block volume in memory whose requests complete later on other threads, in any order, so
 * that the layers above meet real concurrency. Whole blocks only, like a real disk.
 */
public final class MemoryVolume implements Volume, AutoCloseable {
    public final byte[] data;
    private final int block;
    private final AlignedBuffers buffers = new AlignedBuffers(4096);
    private final ExecutorService pool = Executors.newFixedThreadPool(4);

    private final boolean inline;

    public MemoryVolume(int size, int block) {
        this(size, block, false);
    }

    /** With {@code inline}, every request completes on the caller's thread before returning. */
    public MemoryVolume(int size, int block, boolean inline) {
        this.data = new byte[size];
        this.block = block;
        this.inline = inline;
    }

    @Override
    public long size() {
        return data.length;
    }

    @Override
    public int blockSize() {
        return block;
    }

    @Override
    public AlignedBuffers buffers() {
        return buffers;
    }

    private boolean bad(long offset, long length) {
        return offset % block != 0 || length % block != 0 || offset < 0 || offset + length > data.length;
    }

    private void later(Runnable r) {
        if (inline) {
            r.run();
            return;
        }
        pool.execute(() -> {
            // Jitter so completions overtake each other.
            if (ThreadLocalRandom.current().nextInt(4) == 0) {
                Thread.yield();
            }
            r.run();
        });
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCallback done) {
        if (bad(offset, dst.remaining())) {
            throw new IllegalStateException("unaligned read reached the block volume: " + offset + "+" + dst.remaining());
        }
        later(() -> {
            synchronized (data) {
                dst.duplicate().put(data, (int) offset, dst.remaining());
            }
            done.complete(0);
        });
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua, IoCallback done) {
        if (bad(offset, src.remaining())) {
            throw new IllegalStateException("unaligned write reached the block volume: " + offset + "+" + src.remaining());
        }
        later(() -> {
            synchronized (data) {
                src.duplicate().get(data, (int) offset, src.remaining());
            }
            done.complete(0);
        });
    }

    @Override
    public void flush(IoCallback done) {
        later(() -> done.complete(0));
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap, boolean fastOnly, boolean fua,
                            IoCallback done) {
        if (bad(offset, length)) {
            done.complete(-Errno.EINVAL);
            return;
        }
        later(() -> {
            synchronized (data) {
                java.util.Arrays.fill(data, (int) offset, (int) (offset + length), (byte) 0);
            }
            done.complete(0);
        });
    }

    @Override
    public void close() throws InterruptedException {
        pool.shutdown();
        pool.awaitTermination(10, TimeUnit.SECONDS);
    }
}
