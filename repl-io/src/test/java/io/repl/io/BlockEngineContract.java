package io.repl.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The {@link BlockEngine} contract, run against every engine by a subclass per engine.
 *
 * <p>Every callback a test creates is checked in {@link #tearDown} to have been called exactly
 * once, after the engine was closed. What an engine wrote is checked with plain reads of the
 * backing file, so that an engine whose reads and writes are wrong in the same way still fails.
 */
abstract class BlockEngineContract {
    static final long VOLUME_BYTES = 16L << 20;

    Scratch scratch;
    Path file;
    BlockEngine engine;
    private final List<Completion> issued = Collections.synchronizedList(new ArrayList<>());

    /** Opens the engine under test. */
    abstract BlockEngine open(Backing backing, long sizeBytes) throws IOException;

    abstract String engineName();

    @BeforeEach
    void setUp() throws IOException {
        scratch = new Scratch();
        file = Scratch.volumeFile(scratch.dir(), "volume", VOLUME_BYTES);
        engine = open(Backing.probe(file), VOLUME_BYTES);
        assertEquals(engineName(), engine.name());
    }

    @AfterEach
    void tearDown() throws IOException {
        try {
            if (engine != null) {
                engine.close();
            }
            synchronized (issued) {
                for (int i = 0; i < issued.size(); i++) {
                    assertEquals(1, issued.get(i).calls(), "callbacks of request #" + i);
                }
            }
        } finally {
            scratch.close();
        }
    }

    Completion cb() {
        Completion c = new Completion();
        issued.add(c);
        return c;
    }

    ByteBuffer bufferOf(byte[] data) {
        ByteBuffer b = engine.buffers().acquire(data.length);
        b.put(data).flip();
        return b;
    }

    int write(BlockEngine e, long offset, byte[] data) {
        ByteBuffer b = bufferOf(data);
        Completion c = cb();
        e.write(offset, b, c);
        return c.await();
    }

    byte[] read(BlockEngine e, long offset, int length) {
        ByteBuffer b = e.buffers().acquire(length);
        Completion c = cb();
        e.read(offset, b, c);
        assertEquals(0, c.await(), "read of " + length + " at " + offset);
        byte[] out = new byte[length];
        b.get(0, out);
        return out;
    }

    int zero(long offset, long length, boolean mayUnmap, boolean fastOnly) {
        Completion c = cb();
        engine.writeZeroes(offset, length, mayUnmap, fastOnly, c);
        return c.await();
    }

    int flush(BlockEngine e) {
        Completion c = cb();
        e.flush(c);
        return c.await();
    }

    int align() {
        return engine.alignment();
    }

    void assertTailUntouched() {
        byte[] tail = Scratch.readPlain(file, VOLUME_BYTES, Scratch.TAIL_BYTES);
        byte[] expected = new byte[Scratch.TAIL_BYTES];
        Arrays.fill(expected, Scratch.TAIL_FILL);
        assertArrayEquals(expected, tail, "bytes after the volume changed");
    }

    @Test
    void reportsItsGeometry() {
        assertEquals(VOLUME_BYTES, engine.size());
        assertTrue(Integer.bitCount(align()) == 1 && align() >= 512 && align() <= 4096, "alignment " + align());
        // target/ is on a real file system, so both engines must have got O_DIRECT.
        assertTrue(engine.direct(), "O_DIRECT on " + file);
    }

    @Test
    void alignedWritesLandWhereTheySayAndReadBack() {
        Random rnd = new Random(1);
        int[] lengths = {align(), 4096, 64 << 10, 1 << 20, align() * 3};
        for (int length : lengths) {
            long blocks = (VOLUME_BYTES - length) / align();
            long offset = (long) rnd.nextInt((int) blocks + 1) * align();
            byte[] data = Scratch.random(rnd, length);
            assertEquals(0, write(engine, offset, data), "write of " + length + " at " + offset);
            assertArrayEquals(data, read(engine, offset, length), "read back of " + length + " at " + offset);
            assertArrayEquals(data, Scratch.readPlain(file, offset, length), "file bytes at " + offset);
        }
        byte[] last = Scratch.random(rnd, align());
        assertEquals(0, write(engine, VOLUME_BYTES - align(), last));
        assertArrayEquals(last, Scratch.readPlain(file, VOLUME_BYTES - align(), align()));
        assertTailUntouched();
    }

    /**
     * Durable (FUA) writes land and read back like any write, and are refused like any write.
     * That they are on stable storage when they complete cannot be observed without cutting
     * the power; the io_uring engine asks the kernel for it with RWF_DSYNC.
     */
    @Test
    void durableWritesLandAndBadOnesAreRefused() {
        Random rnd = new Random(7);
        int[] lengths = {align(), 4096, 64 << 10, 1 << 20};
        for (int length : lengths) {
            long offset = (long) rnd.nextInt((int) ((VOLUME_BYTES - length) / align()) + 1) * align();
            byte[] data = Scratch.random(rnd, length);
            Completion c = cb();
            engine.writeDurable(offset, bufferOf(data), c);
            assertEquals(0, c.await(), "durable write of " + length + " at " + offset);
            assertArrayEquals(data, read(engine, offset, length), "read back of " + length + " at " + offset);
            assertArrayEquals(data, Scratch.readPlain(file, offset, length), "file bytes at " + offset);
        }
        byte[] before = Scratch.readPlain(file, 0, 64 << 10);
        Completion unaligned = cb();
        engine.writeDurable(align() / 2, bufferOf(Scratch.random(rnd, align())), unaligned);
        assertEquals(-Errno.EINVAL, unaligned.await(), "durable write at an unaligned offset");
        Completion past = cb();
        engine.writeDurable(VOLUME_BYTES, bufferOf(Scratch.random(rnd, align())), past);
        assertEquals(-Errno.EINVAL, past.await(), "durable write past the end");
        assertArrayEquals(before, Scratch.readPlain(file, 0, 64 << 10));
        assertTailUntouched();
    }

    @Test
    void unalignedOffsetsAndLengthsAreRefusedAndWriteNothing() {
        byte[] before = Scratch.readPlain(file, 0, 64 << 10);
        byte[] data = Scratch.random(new Random(2), align() * 2);
        assertEquals(-Errno.EINVAL, write(engine, align() / 2, data), "offset half a block in");
        assertEquals(-Errno.EINVAL, write(engine, 1, data), "offset 1");
        byte[] odd = Arrays.copyOf(data, align() + align() / 2);
        assertEquals(-Errno.EINVAL, write(engine, 0, odd), "length 1.5 blocks");
        assertEquals(-Errno.EINVAL, write(engine, 0, Arrays.copyOf(data, 100)), "length 100");
        Completion r = cb();
        engine.read(align() / 2, engine.buffers().acquire(align()), r);
        assertEquals(-Errno.EINVAL, r.await(), "read at an unaligned offset");
        assertEquals(-Errno.EINVAL, zero(align() / 2, align(), false, false), "zero at an unaligned offset");
        assertEquals(-Errno.EINVAL, zero(0, align() + 1, true, false), "zero of an unaligned length");
        assertArrayEquals(before, Scratch.readPlain(file, 0, 64 << 10));
    }

    @Test
    void buffersThatAreNotAlignedOrNotDirectAreRefused() {
        byte[] before = Scratch.readPlain(file, 0, 64 << 10);
        ByteBuffer big = engine.buffers().acquire(align() * 2);
        big.put(Scratch.random(new Random(3), align() * 2)).clear();
        ByteBuffer shifted = big.position(1).limit(1 + align()).slice();
        Completion w = cb();
        engine.write(0, shifted, w);
        assertEquals(-Errno.EINVAL, w.await(), "write from a buffer one byte off alignment");
        ByteBuffer heap = ByteBuffer.allocate(align());
        Completion h = cb();
        engine.write(0, heap, h);
        assertEquals(-Errno.EINVAL, h.await(), "write from a heap buffer");
        Completion r = cb();
        byte[] shiftedBefore = new byte[align()];
        shifted.get(0, shiftedBefore);
        engine.read(0, shifted, r);
        assertEquals(-Errno.EINVAL, r.await(), "read into a misaligned buffer");
        byte[] shiftedAfter = new byte[align()];
        shifted.get(0, shiftedAfter);
        assertArrayEquals(shiftedBefore, shiftedAfter, "a refused read filled the buffer");
        assertArrayEquals(before, Scratch.readPlain(file, 0, 64 << 10));
    }

    @Test
    void rangesOutsideTheVolumeAreRefusedAndTheTailStaysIntact() {
        byte[] lastBefore = Scratch.readPlain(file, VOLUME_BYTES - (64 << 10), 64 << 10);
        byte[] two = Scratch.random(new Random(4), align() * 2);
        byte[] one = Arrays.copyOf(two, align());
        long farAligned = Long.MAX_VALUE & -(long) align();
        assertEquals(-Errno.EINVAL, write(engine, VOLUME_BYTES - align(), two), "straddling the end");
        assertEquals(-Errno.EINVAL, write(engine, VOLUME_BYTES, one), "at the end");
        assertEquals(-Errno.EINVAL, write(engine, VOLUME_BYTES + align(), one), "past the end");
        assertEquals(-Errno.EINVAL, write(engine, -align(), one), "negative offset");
        assertEquals(-Errno.EINVAL, write(engine, farAligned, one), "offset near Long.MAX_VALUE");
        Completion r = cb();
        engine.read(VOLUME_BYTES, engine.buffers().acquire(align()), r);
        assertEquals(-Errno.EINVAL, r.await(), "read at the end");
        assertEquals(-Errno.EINVAL, zero(VOLUME_BYTES - align(), 2L * align(), false, false), "zero straddling the end");
        assertEquals(-Errno.EINVAL, zero(0, VOLUME_BYTES + align(), true, false), "zero longer than the volume");
        assertEquals(-Errno.EINVAL, zero(farAligned, align(), false, false), "zero near Long.MAX_VALUE");
        assertEquals(-Errno.EINVAL, zero(0, -align(), false, false), "negative length");
        assertArrayEquals(lastBefore, Scratch.readPlain(file, VOLUME_BYTES - (64 << 10), 64 << 10));
        assertTailUntouched();
    }

    @Test
    void aResizeMovesTheEndForLaterRequests() {
        byte[] one = Scratch.random(new Random(5), align());
        long smaller = VOLUME_BYTES / 2;
        engine.resize(smaller);
        assertEquals(smaller, engine.size());
        assertEquals(-Errno.EINVAL, write(engine, smaller, one), "past the new end");
        assertEquals(0, write(engine, smaller - align(), one), "before the new end");
        engine.resize(VOLUME_BYTES);
        assertEquals(0, write(engine, smaller, one), "inside again after growing back");
        assertArrayEquals(one, read(engine, smaller, align()));
        assertEquals(-Errno.EINVAL, write(engine, VOLUME_BYTES, one), "past the grown end");
        assertThrows(IllegalArgumentException.class, () -> engine.resize(align() + 1L));
        assertTailUntouched();
    }

    @Test
    void zeroLengthRequestsSucceedAndChangeNothing() {
        byte[] before = Scratch.readPlain(file, 0, 64 << 10);
        ByteBuffer empty = engine.buffers().acquire(0);
        for (long offset : new long[] {0, align(), VOLUME_BYTES}) {
            Completion w = cb();
            engine.write(offset, empty, w);
            assertEquals(0, w.await(), "empty write at " + offset);
            Completion r = cb();
            engine.read(offset, empty, r);
            assertEquals(0, r.await(), "empty read at " + offset);
            assertEquals(0, zero(offset, 0, true, true), "empty zeroing at " + offset);
        }
        assertArrayEquals(before, Scratch.readPlain(file, 0, 64 << 10));
        assertTailUntouched();
    }

    @Test
    void twoHundredFiftySixConcurrentWritesAndReadsAllVerify() throws InterruptedException {
        int depth = 256;
        int blockBytes = 4096;
        Random rnd = new Random(5);
        List<Integer> blocks = new ArrayList<>();
        for (int i = 0; i < VOLUME_BYTES / blockBytes; i++) {
            blocks.add(i);
        }
        Collections.shuffle(blocks, rnd);
        byte[][] data = new byte[depth][];
        for (int i = 0; i < depth; i++) {
            data[i] = Scratch.random(rnd, blockBytes);
        }
        // Four threads submit at once, so the engine's submission path sees real contention.
        Completion[] writes = new Completion[depth];
        Thread[] submitters = new Thread[4];
        for (int t = 0; t < submitters.length; t++) {
            int first = t;
            submitters[t] = new Thread(() -> {
                for (int i = first; i < depth; i += 4) {
                    writes[i] = cb();
                    engine.write((long) blocks.get(i) * blockBytes, bufferOf(data[i]), writes[i]);
                }
            });
            submitters[t].start();
        }
        for (Thread t : submitters) {
            t.join();
        }
        for (int i = 0; i < depth; i++) {
            assertEquals(0, writes[i].await(), "write #" + i);
        }
        Completion[] reads = new Completion[depth];
        ByteBuffer[] into = new ByteBuffer[depth];
        for (int i = 0; i < depth; i++) {
            into[i] = engine.buffers().acquire(blockBytes);
            reads[i] = cb();
            engine.read((long) blocks.get(i) * blockBytes, into[i], reads[i]);
        }
        for (int i = 0; i < depth; i++) {
            assertEquals(0, reads[i].await(), "read #" + i);
            byte[] got = new byte[blockBytes];
            into[i].get(0, got);
            assertArrayEquals(data[i], got, "block " + blocks.get(i));
            assertArrayEquals(data[i], Scratch.readPlain(file, (long) blocks.get(i) * blockBytes, blockBytes));
        }
    }

    @ParameterizedTest(name = "mayUnmap={0} fastOnly={1}")
    @CsvSource({"true,true", "true,false", "false,true", "false,false"})
    void writeZeroesReadsBackZeroesAndKeepsTheNeighbours(boolean mayUnmap, boolean fastOnly) throws IOException {
        int regionBytes = 1 << 20;
        long regionAt = 4L << 20;
        byte[] data = Scratch.random(new Random(6), regionBytes);
        assertEquals(0, write(engine, regionAt, data));
        assertEquals(0, flush(engine));
        long blocksBefore = Scratch.allocatedBlocks(file);
        long zeroAt = regionAt + (128 << 10);
        int zeroBytes = 512 << 10;
        assertEquals(0, zero(zeroAt, zeroBytes, mayUnmap, fastOnly));
        byte[] expected = data.clone();
        Arrays.fill(expected, 128 << 10, (128 << 10) + zeroBytes, (byte) 0);
        assertArrayEquals(expected, read(engine, regionAt, regionBytes), "through the engine");
        assertArrayEquals(expected, Scratch.readPlain(file, regionAt, regionBytes), "in the file");
        long blocksAfter = Scratch.allocatedBlocks(file);
        if (mayUnmap) {
            assertTrue(blocksAfter <= blocksBefore - zeroBytes / 512, "punched: " + blocksBefore + " -> " + blocksAfter);
        } else {
            // Splitting an extent may add a metadata block, so only a decrease is wrong.
            assertTrue(blocksAfter >= blocksBefore, "deallocated without mayUnmap: " + blocksBefore + " -> " + blocksAfter);
        }
        assertTailUntouched();
    }

    @Test
    void flushAfterCompletedWritesMakesThemVisibleToAFreshEngine() throws IOException {
        Random rnd = new Random(7);
        int count = 64;
        byte[][] data = new byte[count][];
        Completion[] writes = new Completion[count];
        for (int i = 0; i < count; i++) {
            data[i] = Scratch.random(rnd, 8192);
            writes[i] = cb();
            engine.write(i * 65536L, bufferOf(data[i]), writes[i]);
        }
        for (Completion w : writes) {
            assertEquals(0, w.await());
        }
        Completion f = cb();
        engine.flush(f);
        assertEquals(0, f.await());
        // A flush racing with writes in flight must complete too, exactly once.
        Completion w2 = cb();
        engine.write(count * 65536L, bufferOf(data[0]), w2);
        assertEquals(0, flush(engine));
        assertEquals(0, w2.await());
        engine.close();
        engine = open(Backing.probe(file), VOLUME_BYTES);
        for (int i = 0; i < count; i++) {
            assertArrayEquals(data[i], read(engine, i * 65536L, 8192), "write #" + i + " after reopening");
        }
    }

    @Test
    void requestsAfterCloseCompleteWithEshutdownOnce() {
        engine.close();
        ByteBuffer b = engine.buffers().acquire(align());
        Completion w = cb();
        engine.write(0, b, w);
        Completion r = cb();
        engine.read(0, b, r);
        Completion f = cb();
        engine.flush(f);
        Completion z = cb();
        engine.writeZeroes(0, align(), false, false, z);
        assertEquals(-Errno.ESHUTDOWN, w.await());
        assertEquals(-Errno.ESHUTDOWN, r.await());
        assertEquals(-Errno.ESHUTDOWN, f.await());
        assertEquals(-Errno.ESHUTDOWN, z.await());
        engine.close();
    }

    @Test
    void requestsAcceptedBeforeCloseStillCompleteOnce() {
        byte[] data = Scratch.random(new Random(8), 4096);
        Completion[] writes = new Completion[512];
        for (int i = 0; i < writes.length; i++) {
            writes[i] = cb();
            engine.write(i * 4096L, bufferOf(data), writes[i]);
        }
        engine.close();
        for (int i = 0; i < writes.length; i++) {
            assertTrue(writes[i].done(), "close returned before request #" + i + " completed");
            assertEquals(0, writes[i].result(), "request #" + i);
        }
        assertArrayEquals(data, Scratch.readPlain(file, 511 * 4096L, 4096));
    }

    @Test
    void aReadPastTheEndOfAShrunkenFileFailsWithEio() throws IOException {
        long newEnd = VOLUME_BYTES / 2;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(newEnd);
        }
        // The first half of this read exists and the second does not: a short read, then none.
        Completion c = cb();
        engine.read(newEnd - 4096, engine.buffers().acquire(8192), c);
        assertEquals(-Errno.EIO, c.await());
    }

    @Test
    void noSpaceLeftIsReportedAsEnospc() throws IOException {
        assumeTrue(Scratch.isRoot(), "mounting a tmpfs needs root");
        engine.close();
        Path mount = scratch.mountTmpfs(1 << 20);
        Path small = Scratch.volumeFile(mount, "full", 4L << 20);
        engine = open(Backing.probe(small), 4L << 20);
        byte[] chunk = Scratch.random(new Random(9), 64 << 10);
        int result = 0;
        long offset = 0;
        while (offset < (4L << 20) && result == 0) {
            result = write(engine, offset, chunk);
            offset += chunk.length;
        }
        assertEquals(-Errno.ENOSPC, result, "after " + offset + " bytes on a 1 MiB tmpfs");
    }

    @Test
    void fastOnlyZeroingWhereTheFileSystemCannotFailsAndKeepsTheData() throws IOException {
        assumeTrue(Scratch.isRoot(), "mounting a tmpfs needs root");
        engine.close();
        // tmpfs punches holes but has no FALLOC_FL_ZERO_RANGE.
        Path mount = scratch.mountTmpfs(8 << 20);
        Path vol = Scratch.volumeFile(mount, "shm", 2L << 20);
        engine = open(Backing.probe(vol), 2L << 20);
        byte[] data = Scratch.random(new Random(10), 256 << 10);
        assertEquals(0, write(engine, 0, data));
        assertEquals(-Errno.EOPNOTSUPP, zero(0, 64 << 10, false, true));
        assertArrayEquals(data, read(engine, 0, data.length), "a refused fast zeroing changed data");
        assertEquals(0, zero(0, 64 << 10, false, false), "zeroing by writes");
        assertEquals(0, zero(128 << 10, 64 << 10, true, true), "zeroing by punching");
        byte[] expected = data.clone();
        Arrays.fill(expected, 0, 64 << 10, (byte) 0);
        Arrays.fill(expected, 128 << 10, 192 << 10, (byte) 0);
        assertArrayEquals(expected, read(engine, 0, data.length));
        assertArrayEquals(expected, Scratch.readPlain(vol, 0, data.length));
    }

    @Test
    void servesALoopBlockDevice() throws IOException {
        assumeTrue(Scratch.isRoot(), "losetup needs root");
        engine.close();
        Path image = Scratch.volumeFile(scratch.dir(), "image", 8L << 20);
        Path dev = scratch.attachLoop(image);
        Backing backing = Backing.probe(dev);
        assertTrue(backing.blockDevice());
        // The loop device covers the tail too; the volume is its first 8 MiB.
        assertEquals((8L << 20) + Scratch.TAIL_BYTES, backing.sizeBytes());
        engine = open(backing, 8L << 20);
        byte[] data = Scratch.random(new Random(11), 1 << 20);
        assertEquals(0, write(engine, 1 << 20, data));
        assertArrayEquals(data, read(engine, 1 << 20, data.length));
        assertEquals(0, zero(1 << 20, 64 << 10, true, false));
        assertEquals(0, zero((1 << 20) + (128 << 10), 64 << 10, false, false));
        assertEquals(-Errno.EINVAL, write(engine, 8L << 20, Arrays.copyOf(data, 4096)), "past the volume");
        assertEquals(0, flush(engine));
        byte[] expected = data.clone();
        Arrays.fill(expected, 0, 64 << 10, (byte) 0);
        Arrays.fill(expected, 128 << 10, 192 << 10, (byte) 0);
        assertArrayEquals(expected, read(engine, 1 << 20, data.length));
        engine.close();
        assertArrayEquals(expected, Scratch.readPlain(image, 1 << 20, data.length), "bytes in the image file");
        byte[] tail = Scratch.readPlain(image, 8L << 20, Scratch.TAIL_BYTES);
        byte[] fill = new byte[Scratch.TAIL_BYTES];
        Arrays.fill(fill, Scratch.TAIL_FILL);
        assertArrayEquals(fill, tail, "the device past the volume");
    }
}
