package io.repl.agent.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SubBlockVolumeTest {
    private static final int SIZE = 1 << 20;
    private static final int BLOCK = 4096;

    private static int await(CompletableFuture<Integer> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS);
    }

    private static CompletableFuture<Integer> write(Volume v, long offset, byte[] bytes, boolean fua) {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        ByteBuffer b = v.buffers().acquire(bytes.length);
        b.put(bytes).flip();
        v.write(offset, b, fua, r -> {
            v.buffers().release(b);
            f.complete(r);
        });
        return f;
    }

    private static byte[] read(Volume v, long offset, int length) throws Exception {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        ByteBuffer b = v.buffers().acquire(length);
        v.read(offset, b, f::complete);
        assertEquals(0, await(f));
        byte[] out = new byte[length];
        b.duplicate().get(out);
        v.buffers().release(b);
        return out;
    }

    @Test
    void unalignedReadsAndWritesMatchAByteArrayModel() throws Exception {
        try (MemoryVolume mem = new MemoryVolume(SIZE, BLOCK)) {
            SubBlockVolume v = new SubBlockVolume(mem);
            byte[] model = new byte[SIZE];
            Random rnd = new Random(11);
            for (int i = 0; i < 400; i++) {
                int len = 1 + rnd.nextInt(3 * BLOCK);
                int off = rnd.nextInt(SIZE - len);
                if (rnd.nextInt(5) == 0) {
                    CompletableFuture<Integer> f = new CompletableFuture<>();
                    v.writeZeroes(off, len, rnd.nextBoolean(), false, false, f::complete);
                    assertEquals(0, await(f));
                    Arrays.fill(model, off, off + len, (byte) 0);
                } else {
                    byte[] data = new byte[len];
                    rnd.nextBytes(data);
                    assertEquals(0, await(write(v, off, data, rnd.nextBoolean())));
                    System.arraycopy(data, 0, model, off, len);
                }
                int rl = 1 + rnd.nextInt(2 * BLOCK);
                int ro = rnd.nextInt(SIZE - rl);
                assertArrayEquals(Arrays.copyOfRange(model, ro, ro + rl), read(v, ro, rl), "read " + ro + "+" + rl);
            }
            assertArrayEquals(model, mem.data);
        }
    }

    /**
     * Many writers, disjoint byte ranges that share blocks, all in flight at once. Without the
     * gate a read-modify-write would write back a stale copy of its neighbour's bytes.
     */
    @Test
    void concurrentWritesSharingBlocksAreNeverUndoneByAReadModifyWrite() throws Exception {
        for (int round = 0; round < 20; round++) {
            try (MemoryVolume mem = new MemoryVolume(64 * BLOCK, BLOCK)) {
                SubBlockVolume v = new SubBlockVolume(mem);
                Random rnd = new Random(round);
                byte[] model = new byte[64 * BLOCK];
                List<CompletableFuture<Integer>> inFlight = new ArrayList<>();
                int pos = 0;
                while (pos < model.length - 10) {
                    int len = Math.min(model.length - pos, 1 + rnd.nextInt(rnd.nextBoolean() ? 700 : 2 * BLOCK));
                    // Every third piece is a whole aligned block run when it happens to line up.
                    byte[] data = new byte[len];
                    rnd.nextBytes(data);
                    System.arraycopy(data, 0, model, pos, len);
                    inFlight.add(write(v, pos, data, false));
                    pos += len;
                }
                for (CompletableFuture<Integer> f : inFlight) {
                    assertEquals(0, await(f));
                }
                assertArrayEquals(Arrays.copyOf(model, pos), Arrays.copyOf(mem.data, pos), "round " + round);
            }
        }
    }
}
