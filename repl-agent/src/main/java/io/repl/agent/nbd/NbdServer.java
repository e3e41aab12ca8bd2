package io.repl.agent.nbd;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.PeerCredentials;
import io.repl.agent.config.HostPort;
import io.repl.agent.net.UnixSockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * Listens for NBD clients of one export: on a unix socket always, on TCP only when the
 * resource names an {@code nbd-listen} address.
 */
public final class NbdServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(NbdServer.class.getName());

    private final Export export;
    /** Shared by every client of the export, over both sockets. */
    private final ExportLoad load;
    private final Path socketPath;
    private Channel unixChannel;
    private Channel tcpChannel;

    private NbdServer(Export export, ExportLoad load, Path socketPath) {
        this.export = export;
        this.load = load;
        this.socketPath = socketPath;
    }

    /**
     * Starts listening on {@code group}; every client session runs on {@code sessions}, the
     * resource's own loop (one loop, so the sessions share their {@link ExportLoad} without locks).
     *
     * @throws IOException if the socket path is taken by a live server or is not a socket, or
     *     the TCP address cannot be bound
     */
    public static NbdServer start(EventLoopGroup group, EventLoop sessions, Export export, Path socketPath,
                                  HostPort tcp) throws IOException {
        return start(group, sessions, export, new ExportLoad(), socketPath, tcp);
    }

    /** As {@link #start(EventLoopGroup, EventLoop, Export, Path, HostPort)}, with the clients' shared bounds. */
    public static NbdServer start(EventLoopGroup group, EventLoop sessions, Export export, ExportLoad load,
                                  Path socketPath, HostPort tcp) throws IOException {
        NbdServer s = new NbdServer(export, load, socketPath);
        try {
            s.bind(group, sessions, tcp);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    private void bind(EventLoopGroup group, EventLoopGroup sessions, HostPort tcp) throws IOException {
        UnixSockets.prepare(socketPath);
        unixChannel = bootstrap(group, sessions, true).channel(EpollServerDomainSocketChannel.class)
                .bind(new DomainSocketAddress(socketPath.toFile())).syncUninterruptibly().channel();
        UnixSockets.restrict(socketPath, false);
        LOG.log(System.Logger.Level.INFO, "nbd " + export.name() + ": serving on " + socketPath);
        if (tcp != null) {
            try {
                tcpChannel = bootstrap(group, sessions, false).channel(EpollServerSocketChannel.class)
                        .childOption(ChannelOption.TCP_NODELAY, true)
                        .bind(new InetSocketAddress(tcp.host(), tcp.port())).syncUninterruptibly().channel();
            } catch (RuntimeException e) {
                throw new IOException("nbd " + export.name() + ": cannot listen on " + tcp + ": " + e.getMessage(), e);
            }
            LOG.log(System.Logger.Level.INFO, "nbd " + export.name() + ": serving on tcp " + tcp);
        }
    }

    private ServerBootstrap bootstrap(EventLoopGroup group, EventLoopGroup sessions, boolean unix) {
        return new ServerBootstrap().group(group, sessions)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(8 << 20, 32 << 20))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("nbd-handshake", new NbdHandshake(export, load, describe(ch, unix)));
                    }
                });
    }

    private static String describe(Channel ch, boolean unix) {
        if (unix && ch instanceof EpollDomainSocketChannel) {
            try {
                PeerCredentials c = ((EpollDomainSocketChannel) ch).peerCredentials();
                return "pid " + c.pid() + " uid " + c.uid();
            } catch (IOException e) {
                return "unix client";
            }
        }
        return String.valueOf(ch.remoteAddress());
    }

    /** What the export's clients have in flight together. */
    public ExportLoad load() {
        return load;
    }

    /** The NBD URI clients use, e.g. {@code nbd+unix:///r0?socket=/run/repl/r0.nbd}. */
    public String uri() {
        return "nbd+unix:///" + export.name() + "?socket=" + socketPath;
    }

    /** Stops listening; open sessions are closed by their owner. */
    @Override
    public void close() {
        if (unixChannel != null) {
            unixChannel.close().syncUninterruptibly();
            UnixSockets.remove(socketPath);
        }
        if (tcpChannel != null) {
            tcpChannel.close().syncUninterruptibly();
        }
    }
}
