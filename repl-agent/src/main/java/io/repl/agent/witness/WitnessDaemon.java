package io.repl.agent.witness;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.repl.agent.config.ConfigException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code repl-agent --witness}: runs a {@link WitnessServer} until SIGTERM. */
public final class WitnessDaemon {
    private static final System.Logger LOG = System.getLogger(WitnessDaemon.class.getName());
    /** Exit status: the configuration gives the witness nothing to serve. */
    public static final int EXIT_CONFIG = 2;
    /** Exit status: the state directory, the records or every address failed. */
    public static final int EXIT_FAILED = 1;

    private WitnessDaemon() {
    }

    /** Serves until the JVM is told to stop; returns the exit status when it cannot start. */
    public static int run(Path configDir, Path stateDir) {
        // One loop is plenty: two nodes per resource, a few small messages a minute each.
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        WitnessServer server;
        try {
            server = WitnessServer.start(group, configDir, stateDir);
        } catch (ConfigException e) {
            LOG.log(Level.ERROR, "witness: cannot start: " + e.getMessage());
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            return EXIT_CONFIG;
        } catch (IOException e) {
            LOG.log(Level.ERROR, "witness: cannot start: " + e.getMessage());
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            return EXIT_FAILED;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.log(Level.INFO, "witness: stopping");
            server.close();
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
            LOG.log(Level.INFO, "witness: stopped");
            stopped.countDown();
        }, "shutdown"));
        LOG.log(Level.INFO, "witness: running, config " + configDir + ", records in " + stateDir.resolve("witness"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }
}
