package io.repl.agent.peer;

import static io.repl.agent.peer.Fixture.await;
import static io.repl.agent.peer.Fixture.config;
import static io.repl.agent.peer.Fixture.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.repl.agent.config.ConfigLoader;
import io.repl.agent.config.ResourceConfig;
import io.repl.agent.io.NettyEngineLoop;
import io.repl.agent.replication.CoreDriver;
import io.repl.core.metadata.MemoryMetaDevice;
import io.repl.core.metadata.MetaPlacement;
import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.MetadataLayout;
import io.repl.core.replication.ConnectionState;
import io.repl.hooks.HookRunner;
import io.repl.io.Backing;
import io.repl.io.BlockEngine;
import io.repl.io.EngineKind;
import io.repl.io.Engines;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.DiskState;
import io.repl.protocol.Message;
import io.repl.protocol.ReceiveAck;
import io.repl.protocol.handshake.HandshakeConfig;
import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replication driver between a real peer link and a real core, against a scripted peer:
 * frames that were already on their way when the core closed the connection never reach it.
 */
@Timeout(60)
class CoreDriverSessionTest {
    private static final long DATA_BYTES = 1 << 20;

    @TempDir
    Path dir;
    private EventLoopGroup group;
    private CoreDriver driver;
    private BlockEngine engine;

    @AfterEach
    void tearDown() {
        if (driver != null) {
            driver.close();
        }
        if (engine != null) {
            engine.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void framesQueuedBeforeTheCoreClosedTheConnectionNeverReachIt() throws Exception {
        group = Fixture.group();
        int alphaPort = freePort();
        int unusedPort = freePort();
        Path disk = dir.resolve("alpha.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(DATA_BYTES);
        }
        ResourceConfig rc = new ConfigLoader().load(Files.writeString(dir.resolve("r0.toml"), String.join("\n",
                "[net]", "shared-secret = \"change-me\"",
                "[node.alpha]", "address = \"127.0.0.1:" + alphaPort + "\"", "disk = \"" + disk + "\"",
                "[node.beta]", "address = \"127.0.0.1:" + unusedPort + "\"", "disk = \"" + disk + "\"", "")));
        MetadataLayout layout = MetadataLayout.forData(MetaPlacement.EXTERNAL, DATA_BYTES);
        MemoryMetaDevice device = new MemoryMetaDevice(layout.areaBlocks());
        Metadata.create(device, layout, rc.nodeId("alpha"), "alpha", new SplittableRandom(1));
        Metadata metadata = Metadata.open(device, layout, "alpha");
        IoEventLoop loop = (IoEventLoop) group.next();
        engine = Engines.open(Backing.probe(disk), DATA_BYTES, EngineKind.FILECHANNEL, new NettyEngineLoop(loop));
        PeerLinkConfig link = config("alpha", "beta", alphaPort, unusedPort, false);
        driver = CoreDriver.start("r0", loop, engine, metadata, rc, link, rc.nodeId("beta"), new HookRunner(2), s -> { });

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
