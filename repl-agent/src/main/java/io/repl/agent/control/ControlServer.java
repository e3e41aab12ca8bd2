package io.repl.agent.control;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;
import io.repl.agent.net.UnixSockets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;

/**
 * The control socket: one JSON request per line, one JSON response per line, then the agent
 * closes. Only root and the agent's own user may connect (checked with SO_PEERCRED on top of
 * the socket's 0600 mode).
 */
public final class ControlServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ControlServer.class.getName());
    private static final int REQUEST_BYTES_MAX = 64 << 10;

    private final ObjectMapper json = new ObjectMapper();
    private final Path path;
    private final ControlHandler handler;
    private final java.util.function.Function<ControlRequest, ExecutorService> route;
    private final int ownUid;
    private Channel channel;

    private ControlServer(Path path, ControlHandler handler,
                          java.util.function.Function<ControlRequest, ExecutorService> route) throws IOException {
        this.path = path;
        this.handler = handler;
        this.route = route;
        this.ownUid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    /** Binds {@code path} (mode 0600) and serves requests, running each on {@code control}. */
    public static ControlServer start(EventLoopGroup group, Path path, ControlHandler handler,
                                      ExecutorService control) throws IOException {
        return start(group, path, handler, req -> control);
    }

    /** As above, each request run on the executor {@code route} picks for it. */
    public static ControlServer start(EventLoopGroup group, Path path, ControlHandler handler,
                                      java.util.function.Function<ControlRequest, ExecutorService> route)
            throws IOException {
        ControlServer s = new ControlServer(path, handler, route);
        UnixSockets.prepare(path);
        s.channel = new ServerBootstrap().group(group).channel(EpollServerDomainSocketChannel.class)
                .childHandler(new ChannelInitializer<EpollDomainSocketChannel>() {
                    @Override
                    protected void initChannel(EpollDomainSocketChannel ch) {
                        ch.pipeline().addLast(new LineBasedFrameDecoder(REQUEST_BYTES_MAX), s.new Session());
                    }
                })
                .bind(new DomainSocketAddress(path.toFile())).syncUninterruptibly().channel();
        UnixSockets.restrict(path, true);
        LOG.log(System.Logger.Level.INFO, "control socket " + path);
        return s;
    }

    /** One replctl connection. */
    private final class Session extends SimpleChannelInboundHandler<ByteBuf> {
        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            int uid = ((EpollDomainSocketChannel) ctx.channel()).peerCredentials().uid();
            if (uid != 0 && uid != ownUid) {
                LOG.log(System.Logger.Level.WARNING, "control: refused a client with uid " + uid);
                respond(ctx, ControlResponse.error(11, "permission denied: only root or uid " + ownUid
                        + " may control this agent"));
                return;
            }
            super.channelActive(ctx);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf line) {
            ControlRequest req;
            try {
                req = parse(line.toString(StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                respond(ctx, ControlResponse.error(ControlResponse.USAGE, e.getMessage()));
                return;
            }
            ctx.channel().config().setAutoRead(false);
            try {
                route.apply(req).execute(() -> {
                    ControlResponse r;
                    try {
                        r = handler.handle(req);
                    } catch (RuntimeException e) {
                        LOG.log(System.Logger.Level.ERROR, "control: " + req.command() + " failed", e);
                        r = ControlResponse.error(1, "internal error running " + req.command() + ": " + e);
                    }
                    respond(ctx, r);
                });
            } catch (RejectedExecutionException e) {
                respond(ctx, ControlResponse.error(10, "the agent is shutting down"));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof TooLongFrameException) {
                respond(ctx, ControlResponse.error(ControlResponse.USAGE, "request longer than "
                        + REQUEST_BYTES_MAX + " bytes"));
            } else {
                LOG.log(System.Logger.Level.WARNING, "control: " + cause);
                ctx.close();
            }
        }
    }

    @SuppressWarnings("unchecked")
    ControlRequest parse(String line) {
        Map<String, Object> m;
        try {
            m = json.readValue(line, Map.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("request is not a JSON object: " + e.getOriginalMessage());
        }
        Object cmd = m.get("command");
        Object res = m.get("resource");
        Object opts = m.getOrDefault("options", Map.of());
        if (!(cmd instanceof String) || (res != null && !(res instanceof String)) || !(opts instanceof Map)) {
            throw new IllegalArgumentException("request needs \"command\" (string), optional \"resource\" "
                    + "(string) and \"options\" (object)");
        }
        return new ControlRequest((String) cmd, (String) res, (Map<String, Object>) opts);
    }

    private void respond(ChannelHandlerContext ctx, ControlResponse r) {
        byte[] body;
        try {
            body = json.writeValueAsBytes(r);
        } catch (JsonProcessingException e) {
            body = ("{\"exit\":1,\"error\":\"cannot encode the response\"}").getBytes(StandardCharsets.UTF_8);
        }
        ByteBuf out = Unpooled.buffer(body.length + 1).writeBytes(body).writeByte('\n');
        ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
            UnixSockets.remove(path);
        }
    }
}
