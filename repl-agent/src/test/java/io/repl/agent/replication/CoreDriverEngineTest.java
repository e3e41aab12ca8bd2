package io.repl.agent.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.agent.peer.PeerLinkConfig;
import io.repl.core.replication.Command;
import io.repl.core.replication.FrontRequest;
import io.repl.io.BlockEngine;
import io.repl.io.Errno;
import io.repl.io.IoCallback;
import io.repl.protocol.DiskState;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The driver between the core and a real engine: what the engine's answers mean to the core. */
@Timeout(60)
class CoreDriverEngineTest {
    @TempDir
    Path dir;

    /** The engine, except that its first few writes and flushes are refused for now (EAGAIN). */
    private static final class RefusingEngine extends ForwardingEngine {
        final AtomicInteger refusalsLeft;

        RefusingEngine(BlockEngine inner, int refusals) {
            super(inner);
            this.refusalsLeft = new AtomicInteger(refusals);
        }

        private boolean refuse(IoCallback done) {
            if (refusalsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                done.complete(-Errno.EAGAIN);
                return true;
            }
            return false;
        }

        @Override
        public void write(long offset, ByteBuffer src, IoCallback done) {
            if (!refuse(done)) {
                inner.write(offset, src, done);
            }
        }

        @Override
        public void flush(IoCallback done) {
            if (!refuse(done)) {
                inner.flush(done);
            }
        }
    }

    /** An engine with a bug: it reports every write's completion twice. */
    private static final class DoubleCompletingEngine extends ForwardingEngine {
        DoubleCompletingEngine(BlockEngine inner) {
            super(inner);
        }

        @Override
        public void write(long offset, ByteBuffer src, IoCallback done) {
            inner.write(offset, src, r -> {
                done.complete(r);
                done.complete(r);
            });
        }
    }

    @Test
    void aCoreThatThrowsStopsItsResourceCleanlyAndAnswersEverythingWithEio() throws Exception {
        try (DriverFixture f = new DriverFixture(dir, freePort(), freePort())) {
            CoreDriver driver = f.start(PeerLinkConfig.from(f.config, "alpha"), DoubleCompletingEngine::new);
            assertTrue(driver.command(new Command.Disconnect()).done());
            assertTrue(driver.command(new Command.Primary(true)).done());
            ByteBuffer data = ByteBuffer.allocateDirect(4096);
            CompletableFuture<Integer> first = new CompletableFuture<>();
            driver.submit(FrontRequest.Kind.WRITE, 0, 4096, false, data.duplicate(), first::complete);
            // The second completion of the same I/O makes the core throw: the driver stops it.
            int firstResult = first.get(30, TimeUnit.SECONDS);
            assertTrue(firstResult == 0 || firstResult == -Errno.EIO, "answered: " + firstResult);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (driver.status().disk() != DiskState.FAILED) {
                assertTrue(System.nanoTime() < deadline, "the resource did not stop: " + driver.status());
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
            assertTrue(driver.status().failover().diskNote().contains("internal error"), driver.status().toString());
            CompletableFuture<Integer> later = new CompletableFuture<>();
            driver.submit(FrontRequest.Kind.WRITE, 4096, 4096, false, data.duplicate(), later::complete);
            assertEquals(-Errno.EIO, later.get(30, TimeUnit.SECONDS), "later requests: EIO, no hang");
            io.repl.core.replication.CommandResult refused = driver.command(new Command.Primary(true));
            assertTrue(!refused.done() && refused.reason().contains("replication core failed"), refused.toString());
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void anOperationTheEngineRefusesForNowIsSubmittedAgainNotTakenForADiskFailure() throws Exception {
        try (DriverFixture f = new DriverFixture(dir, freePort(), freePort())) {
            RefusingEngine[] refusing = new RefusingEngine[1];
            CoreDriver driver = f.start(PeerLinkConfig.from(f.config, "alpha"),
                    e -> refusing[0] = new RefusingEngine(e, 5));
            check(driver, refusing[0], f.disk);
        }
    }

    private static void check(CoreDriver driver, RefusingEngine refusing, Path disk) throws Exception {
        assertTrue(driver.command(new Command.Disconnect()).done());
        assertTrue(driver.command(new Command.Primary(true)).done());

        ByteBuffer data = ByteBuffer.allocateDirect(8192);
        for (int i = 0; i < 8192; i++) {
            data.put((byte) (i * 7 + 3));
        }
        data.flip();
        CompletableFuture<Integer> written = new CompletableFuture<>();
        driver.submit(FrontRequest.Kind.WRITE, 65536, 8192, false, data.duplicate(), written::complete);
        assertEquals(0, written.get(30, TimeUnit.SECONDS), "the write lands once the engine takes it");
        CompletableFuture<Integer> flushed = new CompletableFuture<>();
        driver.submit(FrontRequest.Kind.FLUSH, 0, 0, false, null, flushed::complete);
        assertEquals(0, flushed.get(30, TimeUnit.SECONDS));
        assertEquals(0, refusing.refusalsLeft.get(), "every refusal was met");
        assertEquals(DiskState.UP_TO_DATE, driver.status().disk(), "EAGAIN is no disk failure: " + driver.status());
        byte[] expected = new byte[8192];
        data.duplicate().get(expected);
        byte[] onDisk = java.util.Arrays.copyOfRange(Files.readAllBytes(disk), 65536, 65536 + 8192);
        assertArrayEquals(expected, onDisk);
    }
}
