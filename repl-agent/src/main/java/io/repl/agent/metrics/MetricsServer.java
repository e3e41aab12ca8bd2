package io.repl.agent.metrics;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.repl.agent.config.HostPort;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * Serves {@code GET /metrics} over HTTP/1.x on one TCP address, one request per connection:
 * enough for Prometheus and {@code curl}, without an HTTP library. The scrape is built on
 * {@code scrapes} (never on a resource's event loop), from counters the data path keeps
 * anyway; a scrape only reads them.
 */
public final class MetricsServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(MetricsServer.class.getName());
    /** A request head longer than this is not a scrape. */
    static final int HEAD_BYTES_MAX = 8192;
    private static final int READ_TIMEOUT_SECONDS = 10;

    private final Channel channel;

    private MetricsServer(Channel channel) {
        this.channel = channel;
    }

    /**
     * Listens on {@code address}.
     *
     * @throws IOException if the address cannot be bound
     */
    public static MetricsServer start(EventLoopGroup group, HostPort address, Executor scrapes,
                                      Supplier<String> scrape) throws IOException {
        try {
            Channel ch = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel c) {
                            c.pipeline().addLast(new ReadTimeoutHandler(READ_TIMEOUT_SECONDS),
                                    new Http(scrapes, scrape));
                        }
                    })
                    .bind(new InetSocketAddress(address.host(), address.port())).syncUninterruptibly().channel();
            LOG.log(System.Logger.Level.INFO, "metrics: serving http://" + address + "/metrics");
            return new MetricsServer(ch);
        } catch (RuntimeException e) {
            throw new IOException("metrics: cannot listen on " + address + ": " + e.getMessage(), e);
        }
    }

    /** The bound address (the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }

    /** Reads one request head, answers it, closes. */
    static final class Http extends ChannelInboundHandlerAdapter {
        private final Executor scrapes;
        private final Supplier<String> scrape;
        private final StringBuilder head = new StringBuilder();
        private boolean answered;

        Http(Executor scrapes, Supplier<String> scrape) {
            this.scrapes = scrapes;
            this.scrape = scrape;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                if (answered) {
                    return;
                }
                head.append(in.toString(StandardCharsets.ISO_8859_1));
            } finally {
                in.release();
            }
            if (head.indexOf("\r\n\r\n") < 0 && head.indexOf("\n\n") < 0) {
                if (head.length() > HEAD_BYTES_MAX) {
                    answer(ctx, 431, "Request Header Fields Too Large", "request head too long\n", "text/plain");
                }
                return;
            }
            String[] line = head.substring(0, head.indexOf("\n")).trim().split(" ");
            if (line.length != 3 || !line[2].startsWith("HTTP/1.")) {
                answer(ctx, 400, "Bad Request", "not an HTTP/1.x request\n", "text/plain");
            } else if (!line[0].equals("GET") && !line[0].equals("HEAD")) {
                answer(ctx, 405, "Method Not Allowed", "only GET /metrics\n", "text/plain");
            } else if (!line[1].equals("/metrics") && !line[1].startsWith("/metrics?")) {
                answer(ctx, 404, "Not Found", "only /metrics is served here\n", "text/plain");
            } else {
                answered = true;
                boolean headOnly = line[0].equals("HEAD");
                scrapes.execute(() -> {
                    String body;
                    try {
                        body = scrape.get();
                    } catch (RuntimeException e) {
                        LOG.log(System.Logger.Level.WARNING, "metrics: scrape failed: " + e, e);
                        ctx.executor().execute(() -> answer(ctx, 500, "Internal Server Error", "scrape failed: " + e
                                + "\n", "text/plain"));
                        return;
                    }
                    ctx.executor().execute(() -> answer(ctx, 200, "OK", headOnly ? null : body,
                            Exposition.CONTENT_TYPE, body.getBytes(StandardCharsets.UTF_8).length));
                });
            }
        }

        private void answer(ChannelHandlerContext ctx, int code, String reason, String body, String type) {
            answer(ctx, code, reason, body, type, body.getBytes(StandardCharsets.UTF_8).length);
        }

        private void answer(ChannelHandlerContext ctx, int code, String reason, String body, String type,
                            int length) {
            answered = true;
            String headers = "HTTP/1.1 " + code + " " + reason + "\r\nContent-Type: " + type + "\r\nContent-Length: "
                    + length + "\r\nConnection: close\r\n\r\n";
            ByteBuf out = Unpooled.copiedBuffer(headers + (body == null ? "" : body), StandardCharsets.UTF_8);
            ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
