package io.repl.agent.peer;

import static io.repl.agent.peer.Fixture.await;
import static io.repl.agent.peer.Fixture.config;
import static io.repl.agent.peer.Fixture.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.agent.replication.CoreDriver;
import io.repl.agent.replication.DriverFixture;
import io.repl.agent.replication.ForwardingEngine;
import io.repl.core.replication.Command;
import io.repl.core.replication.ConnectionState;
import io.repl.io.BlockEngine;
import io.repl.io.Errno;
import io.repl.io.IoCallback;
import io.repl.io.kernel.NativeMemory;
import io.repl.protocol.BitmapChunk;
import io.repl.protocol.DeviceSizes;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.DiskState;
import io.repl.protocol.GenerationUuids;
import io.repl.protocol.Message;
import io.repl.protocol.PeerState;
import io.repl.protocol.ReceiveAck;
import io.repl.protocol.ResyncData;
import io.repl.protocol.ResyncRequest;
import io.repl.protocol.Role;
import io.repl.protocol.handshake.HandshakeConfig;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replication driver between a real peer link and a real core, against a scripted peer:
 * frames that were already on their way when the core closed the connection never reach it,
 * and a resync read's buffer goes back to the pool.
 */
@Timeout(60)
class CoreDriverSessionTest {
    @TempDir
    Path dir;

    @Test
    void framesQueuedBeforeTheCoreClosedTheConnectionNeverReachIt() throws Exception {
        int alphaPort = freePort();
        int unusedPort = freePort();
        try (DriverFixture f = new DriverFixture(dir, alphaPort, unusedPort)) {
            CoreDriver driver = f.start(config("alpha", "beta", alphaPort, unusedPort, false), e -> e);
            closeWithFramesQueued(driver, alphaPort);
        }
    }

    private static void closeWithFramesQueued(CoreDriver driver, int alphaPort) throws Exception {
        await("alpha listening", () -> driver.link().listenAddress() != null);
        try (RawPeer beta = RawPeer.connect(new InetSocketAddress("127.0.0.1", alphaPort))) {
            beta.handshake(HandshakeConfig.of("beta", "alpha", Fixture.RESOURCE, Fixture.SECRET));
            await("alpha's core connected", () -> driver.status().connection() == ConnectionState.CONNECTED);
            // Two frames in one write, so both are read and queued for the core at once. The
            // first (an acknowledgement of a write never sent) makes the core close; the second
            // was already queued behind it and must be dropped, not handed to a core that has
            // left the connection.
            ByteArrayOutputStream both = new ByteArrayOutputStream();
            both.write(beta.bytes(new ReceiveAck(41)));
            both.write(beta.bytes(new ReceiveAck(42)));
            beta.sendRaw(both.toByteArray());
            Disconnect d = nextDisconnect(beta);
            assertEquals(DisconnectReason.PROTOCOL_ERROR, d.reason(), d.detail());
        }
        await("the core wants the peer again", () -> driver.status().connection() == ConnectionState.CONNECTING);
        assertNotEquals(DiskState.FAILED, driver.status().disk(), "the driver kept its core: " + driver.status());
        assertFalse(Fixture.logged("internal error in the replication core"), "no frame reached a closed connection");
    }

    /**
     * A resync read's aligned buffer goes back to the engine's pool as soon as the block is
     * copied out for the peer. Left to the GC instead, a long resync (a whole Ahead phase of
     * writes after pull-ahead) held up to MaxDirectMemorySize of them.
     */
    @Test
    void aResyncReadGivesItsAlignedBufferBackToThePool() throws Exception {
        int alphaPort = freePort();
        int unusedPort = freePort();
        List<ByteBuffer> readInto = new CopyOnWriteArrayList<>();
        AtomicReference<BlockEngine> engine = new AtomicReference<>();
        try (DriverFixture f = new DriverFixture(dir, alphaPort, unusedPort)) {
            CoreDriver driver = f.start(config("alpha", "beta", alphaPort, unusedPort, false), e -> {
                engine.set(e);
                return new ForwardingEngine(e) {
                    @Override
                    public void read(long offset, ByteBuffer dst, IoCallback done) {
                        readInto.add(dst);
                        inner.read(offset, dst, done);
                    }
                };
            });
            assertTrue(driver.command(new Command.Primary(true)).done());
            await("alpha listening", () -> driver.link().listenAddress() != null);
            try (RawPeer beta = RawPeer.connect(new InetSocketAddress("127.0.0.1", alphaPort))) {
                beta.handshake(HandshakeConfig.of("beta", "alpha", Fixture.RESOURCE, Fixture.SECRET));
                // A fresh beta: alpha becomes the source of a full sync, and beta asks for all of it.
                int blocks = (int) (DriverFixture.DATA_BYTES / 4096);
                beta.send(new DeviceSizes(DriverFixture.DATA_BYTES, 1 << 20, 4096));
                beta.send(new GenerationUuids(0, 0, List.of(), 0, 0));
                beta.send(new PeerState(Role.SECONDARY, DiskState.INCONSISTENT, 0));
                beta.send(BitmapChunk.rle(0, new long[] {blocks}, true));
                beta.send(new ResyncRequest(0, (int) DriverFixture.DATA_BYTES));
                ResyncData block = next(beta, ResyncData.class);
                assertEquals(DriverFixture.DATA_BYTES, block.length());
            }
            assertEquals(1, readInto.size(), "one read for the one request");
            assertSame(readInto.get(0), engine.get().buffers().acquire((int) DriverFixture.DATA_BYTES),
                    "the read's buffer is the pool's next one of its size");
        }
    }

    /**
     * The peer's block is received into a buffer of the disk's pool and written from it, with
     * no copy in between; the buffer goes back to the pool only once the disk is done with it.
     * A write refused for now (EAGAIN) is retried from the same buffer, which still goes back
     * exactly once. Were the buffer given back earlier, the next block would be received into
     * memory the disk had yet to write.
     */
    @Test
    void aPeersBlockIsWrittenFromTheBufferItArrivedInWhichGoesBackOnceTheDiskIsDone() throws Exception {
        int alphaPort = freePort();
        int unusedPort = freePort();
        record Held(ByteBuffer src, IoCallback done) { }
        List<Held> writes = new CopyOnWriteArrayList<>();
        AtomicBoolean written = new AtomicBoolean();
        AtomicReference<BlockEngine> engine = new AtomicReference<>();
        try (DriverFixture f = new DriverFixture(dir, alphaPort, unusedPort)) {
            CoreDriver driver = f.start(config("alpha", "beta", alphaPort, unusedPort, false), e -> {
                engine.set(e);
                return new ForwardingEngine(e) {
                    @Override
                    public void write(long offset, ByteBuffer src, IoCallback done) {
                        // The first attempt is refused for now; the retry is held until the test lets it go.
                        boolean first = writes.isEmpty();
                        writes.add(new Held(src, ignored -> inner.write(offset, src, r -> {
                            done.complete(r);
                            written.set(true);
                        })));
                        if (first) {
                            done.complete(-Errno.EAGAIN);
                        }
                    }
                };
            });
            await("alpha listening", () -> driver.link().listenAddress() != null);
            try (RawPeer beta = RawPeer.connect(new InetSocketAddress("127.0.0.1", alphaPort))) {
                beta.handshake(HandshakeConfig.of("beta", "alpha", Fixture.RESOURCE, Fixture.SECRET));
                // beta holds the data, alpha is fresh: alpha becomes the target of a full sync.
                int blocks = (int) (DriverFixture.DATA_BYTES / 4096);
                beta.send(new DeviceSizes(DriverFixture.DATA_BYTES, 1 << 20, 4096));
                beta.send(new GenerationUuids(0x5eed, 0, List.of(), GenerationUuids.CONSISTENT, blocks));
                beta.send(new PeerState(Role.PRIMARY, DiskState.UP_TO_DATE, 0));
                beta.send(BitmapChunk.rle(0, new long[] {blocks}, true));
                ResyncRequest asked = next(beta, ResyncRequest.class);
                byte[] bytes = new byte[asked.length()];
                new Random(3).nextBytes(bytes);
                beta.send(new ResyncData(asked.offset(), ByteBuffer.wrap(bytes)));

                await("the write retried after EAGAIN", () -> writes.size() == 2);
                ByteBuffer src = writes.get(1).src();
                assertTrue(src.isDirect(), "written from direct memory");
                assertEquals(NativeMemory.addressOf(writes.get(0).src()), NativeMemory.addressOf(src),
                        "the retry writes from the same buffer");
                assertEquals(ByteBuffer.wrap(bytes), src.duplicate(), "the block as it arrived");
                assertEquals(0, driver.loop().submit(driver::writeCopies).get(), "written where it arrived, no copy");
                ByteBuffer other = engine.get().buffers().acquire(asked.length());
                assertNotEquals(NativeMemory.addressOf(src), NativeMemory.addressOf(other),
                        "the pool does not hand out a buffer the disk has yet to write");
                engine.get().buffers().release(other);

                writes.get(1).done().complete(0);
                await("the block written", written::get);
                ByteBuffer next = engine.get().buffers().acquire(asked.length());
                ByteBuffer after = engine.get().buffers().acquire(asked.length());
                assertTrue(NativeMemory.addressOf(next) == NativeMemory.addressOf(src)
                        || NativeMemory.addressOf(after) == NativeMemory.addressOf(src),
                        "the buffer went back to the pool once its write was done");
                assertNotEquals(NativeMemory.addressOf(next), NativeMemory.addressOf(after), "and only once");
            }
        }
    }

    private static <T extends Message> T next(RawPeer p, Class<T> type) throws Exception {
        while (true) {
            Message m = p.receive();
            if (m == null) {
                throw new AssertionError("closed before " + type.getSimpleName());
            }
            if (type.isInstance(m)) {
                return type.cast(m);
            }
        }
    }

    private static Disconnect nextDisconnect(RawPeer p) throws Exception {
        while (true) {
            Message m = p.receive();
            if (m == null) {
                throw new AssertionError("closed without a DISCONNECT");
            }
            if (m instanceof Disconnect d) {
                return d;
            }
        }
    }
}
