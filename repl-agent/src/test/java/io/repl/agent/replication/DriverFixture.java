package io.repl.agent.replication;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.repl.agent.config.ConfigLoader;
import io.repl.agent.config.ResourceConfig;
import io.repl.agent.io.NettyEngineLoop;
import io.repl.agent.peer.PeerLinkConfig;
import io.repl.core.metadata.MemoryMetaDevice;
import io.repl.core.metadata.MetaPlacement;
import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.MetadataLayout;
import io.repl.hooks.HookRunner;
import io.repl.io.Backing;
import io.repl.io.BlockEngine;
import io.repl.io.EngineKind;
import io.repl.io.Engines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * One real driver for tests: node alpha of a resource r0 (peer beta), its core, a FileChannel
 * engine on a 1 MiB file, metadata in memory, a peer link on the given ports. Closes all of it.
 */
public final class DriverFixture implements AutoCloseable {
    public static final long DATA_BYTES = 1 << 20;
    public static final String SECRET = "change-me";
    public final Path disk;
    public final ResourceConfig config;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private BlockEngine engine;
    private CoreDriver driver;

    public DriverFixture(Path dir, int alphaPort, int betaPort) throws Exception {
        disk = dir.resolve("alpha.img");
        Files.write(disk, new byte[(int) DATA_BYTES]);
        config = new ConfigLoader().load(Files.writeString(dir.resolve("r0.toml"), String.join("\n",
                "[net]", "shared-secret = \"" + SECRET + "\"",
                "[node.alpha]", "address = \"127.0.0.1:" + alphaPort + "\"", "disk = \"" + disk + "\"",
                "[node.beta]", "address = \"127.0.0.1:" + betaPort + "\"", "disk = \"" + disk + "\"", "")));
    }

    /** Starts the driver on {@code link} with the engine as {@code wrap} returns it. */
    public CoreDriver start(PeerLinkConfig link, UnaryOperator<BlockEngine> wrap) throws Exception {
        MetadataLayout layout = MetadataLayout.forData(MetaPlacement.EXTERNAL, DATA_BYTES);
        MemoryMetaDevice device = new MemoryMetaDevice(layout.areaBlocks());
        Metadata.create(device, layout, config.nodeId("alpha"), "alpha", new SplittableRandom(1));
        IoEventLoop loop = (IoEventLoop) group.next();
        engine = Engines.open(Backing.probe(disk), DATA_BYTES, EngineKind.FILECHANNEL, new NettyEngineLoop(loop));
        driver = CoreDriver.start("r0", loop, wrap.apply(engine), Metadata.open(device, layout, "alpha"), config,
                link, config.nodeId("beta"), new HookRunner(1), s -> { });
        return driver;
    }

    /** Starts the driver on the link the config describes, with the engine as it is. */
    public CoreDriver start() throws Exception {
        return start(PeerLinkConfig.from(config, "alpha"), e -> e);
    }

    @Override
    public void close() {
        if (driver != null) {
            driver.close();
        }
        if (engine != null) {
            engine.close();
        }
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
