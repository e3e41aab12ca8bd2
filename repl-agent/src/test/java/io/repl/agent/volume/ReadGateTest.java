package io.repl.agent.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.DefaultEventLoop;
import io.repl.io.AlignedBuffers;
import io.repl.io.Errno;
import io.repl.io.IoCallback;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gate on its own loop, over a volume whose reads complete only when the test says so,
 * so that a state change can be placed exactly between a read's admission and its answer.
 */
class ReadGateTest {
    private static final int BLOCK = 4096;
    private final DefaultEventLoop loop = new DefaultEventLoop();
    private final ReadGate gate = new ReadGate(loop);
    private final HeldVolume disk = new HeldVolume();
    private final Volume reader = gate.readOnly(disk);

    @AfterEach
    void stop() throws Exception {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS);
    }

    private <T> T onLoop(Callable<T> c) throws Exception {
        return loop.submit(c).get(10, TimeUnit.SECONDS);
    }

    private void update(boolean upToDate) throws Exception {
        onLoop(() -> gate.update(upToDate));
    }

    /** A read through the gate, issued on the loop; the answer arrives on the future. */
    private Answer read() throws Exception {
        Answer a = new Answer(ByteBuffer.allocate(BLOCK));
        onLoop(() -> {
            reader.read(0, a.buf, a);
            return null;
        });
        return a;
    }

    @Test
    void readsAreServedWhileTheDiskIsUpToDate() throws Exception {
        update(true);
        Answer a = read();
        disk.completeNext(0);
        assertEquals(0, a.result());
        assertArrayEquals(HeldVolume.pattern(), a.buf.array());
        assertTrue(a.onLoop, "answered on the gate's loop");
    }

    @Test
    void shutUntilTheFirstUpdateOpensIt() throws Exception {
        Answer a = read();
        assertEquals(-Errno.EIO, a.result());
        assertEquals(0, disk.held.size(), "the disk never saw the read");
    }

    @Test
    void aReadArrivingAfterTheDiskLeftUpToDateFailsWithoutReachingTheDisk() throws Exception {
        update(true);
        assertTrue(onLoop(() -> gate.update(false)), "the update that shuts the gate says so");
        Answer a = read();
        assertEquals(-Errno.EIO, a.result());
        assertEquals(0, disk.held.size());
        assertFalse(onLoop(() -> gate.update(false)), "shutting a shut gate is no news");
    }

    @Test
    void aReadInFlightWhenTheDiskLeavesUpToDateIsAnsweredEio() throws Exception {
        update(true);
        Answer a = read();
        update(false);
        // The disk hands back bytes a resync may already have been rewriting: not served.
        disk.completeNext(0);
        assertEquals(-Errno.EIO, a.result());
    }

    @Test
    void aReadThatOutlivesALeaveAndAReturnIsStillRefused() throws Exception {
        update(true);
        Answer a = read();
        update(false);
        update(true);
        disk.completeNext(0);
        assertEquals(-Errno.EIO, a.result(), "the disk was not UpToDate for the whole read");
        Answer b = read();
        disk.completeNext(0);
        assertEquals(0, b.result(), "a read admitted after the return is served");
    }

    @Test
    void aCompletionOffTheLoopIsJudgedOnTheLoop() throws Exception {
        update(true);
        Answer a = read();
        Thread t = new Thread(() -> disk.completeNext(0));
        t.start();
        t.join(10_000);
        assertEquals(0, a.result());
        assertTrue(a.onLoop);
    }

    @Test
    void aDiskErrorIsPassedOn() throws Exception {
        update(true);
        Answer a = read();
        disk.completeNext(-Errno.EIO);
        assertEquals(-Errno.EIO, a.result());
    }

    @Test
    void writesThroughAReadOnlyVolumeAreRefused() throws Exception {
        update(true);
        CompletableFuture<Integer> w = new CompletableFuture<>();
        reader.write(0, ByteBuffer.allocate(BLOCK), false, w::complete);
        CompletableFuture<Integer> z = new CompletableFuture<>();
        reader.writeZeroes(0, BLOCK, true, false, false, z::complete);
        assertEquals(-Errno.EPERM, w.get(10, TimeUnit.SECONDS));
        assertEquals(-Errno.EPERM, z.get(10, TimeUnit.SECONDS));
        assertEquals(0, disk.writes);
    }

    @Test
    void updatesComeFromTheLoopOnly() {
        assertThrows(IllegalStateException.class, () -> gate.update(true));
    }

    /** One read's answer: its result, and whether it came on the loop. */
    private final class Answer extends CompletableFuture<Integer> implements IoCallback {
        final ByteBuffer buf;
        volatile boolean onLoop;

        Answer(ByteBuffer buf) {
            this.buf = buf;
        }

        @Override
        public void complete(int result) {
            onLoop = loop.inEventLoop();
            complete((Integer) result);
        }

        int result() throws Exception {
            return get(10, TimeUnit.SECONDS);
        }
    }

    /** Reads wait here until the test completes them, filling the buffer with a pattern. */
    private static final class HeldVolume implements Volume {
        final List<Runnable> held = new ArrayList<>();
        int writes;
        private int nextResult;

        static byte[] pattern() {
            byte[] b = new byte[BLOCK];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) (i * 7 + 1);
            }
            return b;
        }

        synchronized void completeNext(int result) {
            nextResult = result;
            held.remove(0).run();
        }

        @Override
        public long size() {
            return 16 * BLOCK;
        }

        @Override
        public int blockSize() {
            return BLOCK;
        }

        @Override
        public AlignedBuffers buffers() {
            return new AlignedBuffers(BLOCK);
        }

        @Override
        public synchronized void read(long offset, ByteBuffer dst, IoCallback done) {
            held.add(() -> {
                if (nextResult == 0) {
                    dst.duplicate().put(pattern());
                }
                done.complete(nextResult);
            });
        }

        @Override
        public synchronized void write(long offset, ByteBuffer src, boolean fua, IoCallback done) {
            writes++;
            done.complete(0);
        }

        @Override
        public void flush(IoCallback done) {
            done.complete(0);
        }

        @Override
        public synchronized void writeZeroes(long offset, long length, boolean mayUnmap, boolean fastOnly,
                                             boolean fua, IoCallback done) {
            writes++;
            done.complete(0);
        }
    }
}
