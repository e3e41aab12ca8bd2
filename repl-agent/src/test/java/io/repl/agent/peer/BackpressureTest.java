package io.repl.agent.peer;

import static io.repl.agent.peer.Fixture.await;
import static io.repl.agent.peer.Fixture.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.repl.agent.config.ConfigLoader;
import io.repl.agent.config.ResourceConfig;
import io.repl.agent.io.NettyEngineLoop;
import io.repl.agent.nbd.Export;
import io.repl.agent.nbd.ExportLoad;
import io.repl.agent.nbd.NbdServer;
import io.repl.agent.nbd.NbdSession;
import io.repl.agent.replication.CoreDriver;
import io.repl.agent.replication.ReplicatedVolume;
import io.repl.agent.volume.SubBlockVolume;
import io.repl.core.metadata.MemoryMetaDevice;
import io.repl.core.metadata.MetaPlacement;
import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.MetadataLayout;
import io.repl.core.replication.Command;
import io.repl.core.replication.ReplicationState;
import io.repl.hooks.HookRunner;
import io.repl.io.Backing;
import io.repl.io.BlockEngine;
import io.repl.io.EngineKind;
import io.repl.io.Engines;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A peer that stops reading, under protocol A, where the Primary acknowledges a write as soon
 * as its DATA is handed over: the peer link's send queue fills to its high water mark, the core
 * admits no more writes, the NBD requests stay in flight until the export's bound, and the
 * Primary stops reading its NBD socket, so the client is held back by TCP. The payload bytes the
 * Primary holds (the link's queue plus the requests in flight) stay under a stated bound however
 * much the client has to write; once the peer reads again every write completes.
 */
@Timeout(120)
class BackpressureTest {
    private static final long DATA_BYTES = 8 << 20;
    private static final int WRITE_BYTES = 64 << 10;
    /** Far more than every bound and buffer on the way: 64 MiB. */
    private static final int WRITES = 1024;
    private static final int LOAD_REQUESTS_MAX = 64;
    private static final long LOAD_BYTES_MAX = 2 << 20;
    private static final int NBD_REQUEST_MAGIC = 0x25609513;
    private static final int NBD_CMD_WRITE = 1;

    @TempDir
    Path dir;
    private EventLoopGroup group;
    private final List<CoreDriver> drivers = new ArrayList<>();
    private final List<BlockEngine> engines = new ArrayList<>();
    private NbdServer nbd;
    private HeldProxy proxy;
    private SocketChannel client;

    @AfterEach
    void tearDown() throws IOException {
        if (proxy != null) {
            proxy.stall(false);
        }
        if (client != null) {
            client.close();
        }
        if (nbd != null) {
            nbd.close();
        }
        drivers.forEach(CoreDriver::close);
        engines.forEach(BlockEngine::close);
        if (proxy != null) {
            proxy.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void aPeerThatStopsReadingHoldsTheNbdClientBackWithBoundedMemory() throws Exception {
        group = Fixture.group();
        int alphaPort = freePort();
        int betaPort = freePort();
        int nobody = freePort();
        proxy = new HeldProxy(new InetSocketAddress("127.0.0.1", betaPort));
        proxy.release();
        ResourceConfig rc = config(alphaPort, betaPort);
        IoEventLoop alphaLoop = (IoEventLoop) group.next();
        IoEventLoop betaLoop = (IoEventLoop) group.next();
        // Alpha reaches beta only through the proxy; beta's own dials go nowhere.
        PeerLinkConfig alphaLink = Fixture.config("alpha", "beta", alphaPort, proxy.port(), false);
        CoreDriver alpha = driver("alpha", rc, alphaLoop, alphaLink);
        CoreDriver beta = driver("beta", rc, betaLoop, Fixture.config("beta", "alpha", betaPort, nobody, false));
        await("connected and established", () -> alpha.status().replication() == ReplicationState.ESTABLISHED
                && beta.status().replication() == ReplicationState.ESTABLISHED);
        assertTrue(alpha.command(new Command.NewCurrentUuidClearBitmap()).done());
        await("both UpToDate", () -> alpha.status().disk() == DiskState.UP_TO_DATE
                && beta.status().disk() == DiskState.UP_TO_DATE);
        assertTrue(alpha.command(new Command.Primary(false)).done());
        assertEquals(Role.PRIMARY, alpha.status().role());
        PeerSession link = alpha.link().session();
        long highBytes = alphaLink.writeBufferHighBytes();

        ExportLoad load = new ExportLoad(LOAD_REQUESTS_MAX, LOAD_BYTES_MAX);
        AtomicReference<NbdSession> session = new AtomicReference<>();
        SubBlockVolume volume = new SubBlockVolume(new ReplicatedVolume(alpha));
        Path socket = dir.resolve("r0.nbd");
        nbd = NbdServer.start(group, alphaLoop, new OneExport(volume, session), load, socket, null);
        client = openNbd(socket);

        proxy.stall(true);
        AtomicInteger written = new AtomicInteger();
        AtomicInteger replies = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        Thread writer = daemon("nbd-writer", () -> writeAll(written));
        Thread reader = daemon("nbd-reader", () -> readReplies(replies, errors));

        await("the link is congested and the Primary stopped reading its NBD socket",
                () -> !link.isWritable() && load.paused() && session.get() != null && !session.get().reading());
        long held = link.pendingOutboundBytes() + load.bytes();
        long bound = highBytes + 2 * LOAD_BYTES_MAX + 2L * WRITE_BYTES;
        System.out.printf("backpressure: link queue %d bytes, NBD in flight %d bytes (%d requests), bound %d;"
                        + " client wrote %d of %d writes%n", link.pendingOutboundBytes(), load.bytes(), load.requests(),
                bound, written.get(), WRITES);
        assertTrue(held <= bound, "the Primary holds " + held + " payload bytes; at most " + bound);
        assertTrue(written.get() < WRITES, "the client is held back by TCP: it could not write everything");
        assertFalse(Fixture.logged("BUG:"), "no bound of the core was crossed");

        proxy.stall(false);
        writer.join(TimeUnit.SECONDS.toMillis(Recorder.WAIT_SECONDS));
        await("every write answered", () -> replies.get() == WRITES);
        assertEquals(0, errors.get(), "no write failed for being fast");
        assertTrue(load.requestsPeak() <= LOAD_REQUESTS_MAX, "requests in flight peaked at " + load.requestsPeak());
        assertTrue(load.bytesPeak() <= LOAD_BYTES_MAX + WRITE_BYTES, "bytes in flight peaked at " + load.bytesPeak());
        assertEquals(ReplicationState.ESTABLISHED, alpha.status().replication(), "the connection survived the stall");
        assertFalse(Fixture.logged("BUG:"), "no bound of the core was crossed");
        reader.join(TimeUnit.SECONDS.toMillis(Recorder.WAIT_SECONDS));
    }

    private ResourceConfig config(int alphaPort, int betaPort) throws Exception {
        for (String node : List.of("alpha", "beta")) {
            try (RandomAccessFile f = new RandomAccessFile(dir.resolve(node + ".img").toFile(), "rw")) {
                f.setLength(DATA_BYTES);
            }
        }
        return new ConfigLoader().load(Files.writeString(dir.resolve("r0.toml"), String.join("\n",
                "protocol = \"A\"", "[net]", "shared-secret = \"change-me\"",
                "[node.alpha]", "address = \"127.0.0.1:" + alphaPort + "\"", "disk = \"" + dir.resolve("alpha.img") + "\"",
                "[node.beta]", "address = \"127.0.0.1:" + betaPort + "\"", "disk = \"" + dir.resolve("beta.img") + "\"",
                "")));
    }

    /** A node's driver on its own loop, with liveness timers longer than any stall here. */
    private CoreDriver driver(String node, ResourceConfig rc, IoEventLoop loop, PeerLinkConfig link) throws Exception {
        MetadataLayout layout = MetadataLayout.forData(MetaPlacement.EXTERNAL, DATA_BYTES);
        MemoryMetaDevice device = new MemoryMetaDevice(layout.areaBlocks());
        Metadata.create(device, layout, rc.nodeId(node), node, new SplittableRandom(node.hashCode()));
        Metadata metadata = Metadata.open(device, layout, node);
        BlockEngine engine = Engines.open(Backing.probe(dir.resolve(node + ".img")), DATA_BYTES,
                EngineKind.FILECHANNEL, new NettyEngineLoop(loop));
        engines.add(engine);
        String peer = node.equals("alpha") ? "beta" : "alpha";
        CoreDriver d = CoreDriver.start("r0", loop, engine, metadata, rc,
                link.withPing(Duration.ofSeconds(60), Duration.ofSeconds(60)), rc.nodeId(peer), new HookRunner(2),
                s -> { });
        drivers.add(d);
        return d;
    }

    private static SocketChannel openNbd(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        readFully(ch, 18);
        ch.write(ByteBuffer.allocate(4).putInt(3).flip());
        byte[] name = "r0".getBytes(StandardCharsets.UTF_8);
        ByteBuffer go = ByteBuffer.allocate(16 + 4 + name.length + 2);
        go.putLong(0x49484156454F5054L).putInt(7).putInt(4 + name.length + 2).putInt(name.length).put(name)
                .putShort((short) 0).flip();
        while (go.hasRemaining()) {
            ch.write(go);
        }
        while (true) {
            ByteBuffer h = readFully(ch, 20);
            h.getLong();
            h.getInt();
            int type = h.getInt();
            readFully(ch, h.getInt());
            if (type == 1) {
                return ch;
            }
            if (type != 3) {
                throw new IOException("GO refused: reply type " + type);
            }
        }
    }

    private static ByteBuffer readFully(SocketChannel ch, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new IOException("closed");
            }
        }
        return b.flip();
    }

    /** Pipelines every write as fast as the socket takes them (a blocking write waits in TCP). */
    private void writeAll(AtomicInteger written) {
        ByteBuffer request = ByteBuffer.allocate(28 + WRITE_BYTES);
        try {
            for (int i = 0; i < WRITES; i++) {
                long offset = (long) i * WRITE_BYTES % DATA_BYTES;
                request.clear();
                request.putInt(NBD_REQUEST_MAGIC).putShort((short) 0).putShort((short) NBD_CMD_WRITE).putLong(i)
                        .putLong(offset).putInt(WRITE_BYTES);
                for (int j = 0; j < WRITE_BYTES; j += 8) {
                    request.putLong(i * 1_000_003L + j);
                }
                request.flip();
                while (request.hasRemaining()) {
                    client.write(request);
                }
                written.incrementAndGet();
            }
        } catch (IOException e) {
            // The test ended.
        }
    }

    private void readReplies(AtomicInteger replies, AtomicInteger errors) {
        try {
            for (int i = 0; i < WRITES; i++) {
                ByteBuffer r = readFully(client, 16);
                r.getInt();
                if (r.getInt() != 0) {
                    errors.incrementAndGet();
                }
                replies.incrementAndGet();
            }
        } catch (IOException e) {
            // The test ended.
        }
    }

    private static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private record OneExport(SubBlockVolume volume, AtomicReference<NbdSession> session) implements Export {
        @Override
        public String name() {
            return "r0";
        }

        @Override
        public Grant open() {
            return Grant.readWrite(volume);
        }

        @Override
        public void sessionOpened(NbdSession s) {
            session.set(s);
        }

        @Override
        public void sessionClosed(NbdSession s) {
        }
    }
}
