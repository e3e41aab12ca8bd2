package io.repl.agent.peer;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.repl.agent.config.HostPort;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Features;
import io.repl.protocol.Lz4Block;
import io.repl.protocol.Message;
import io.repl.protocol.ProtocolException;
import io.repl.protocol.handshake.Handshake;
import io.repl.protocol.handshake.HandshakeFailure;
import io.repl.protocol.handshake.HandshakeResult;
import io.repl.protocol.handshake.NonceHistory;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The connection of one resource to its peer: listens on this node's address, connects to the
 * peer's, authenticates every connection, keeps exactly one as the {@link PeerSession}, and
 * reconnects every {@code connect-retry} while the resource wants to be connected.
 *
 * <h2>Which connection survives</h2>
 * Both nodes connect and accept, so when both start at once there are two connections. The
 * node whose name sorts lower <em>decides</em>: the first connection to authenticate there
 * becomes the session, and it sends PING on it at once; any other authenticated connection is
 * closed as a duplicate. The other node <em>follows</em>: an authenticated connection waits
 * (sending nothing) until the first message from the decider arrives on it, and only then
 * becomes the session. Both nodes therefore pick the same connection without an extra message
 * type, whichever side's dial worked; a connection that is never chosen is closed by the
 * time limit. If the decider chooses a new connection while the follower still holds an old
 * session (the decider restarted), the follower ends the old session first.
 *
 * <p>A consequence: if the follower's host dies without closing its sockets and comes back
 * before the decider notices, the decider keeps refusing the new connections as duplicates
 * until liveness drops the stale session (at most {@code ping-interval + ping-timeout}); the
 * follower keeps retrying meanwhile, so the link heals by itself.
 *
 * <h2>Threads</h2>
 * A link lives on one event loop of the group it is given: the listening socket, every
 * connection and every timer. So its state needs no locks, and the listener is called on that
 * loop, in order, never concurrently. {@link #connect()}, {@link #disconnect()},
 * {@link #close()} and the getters may be called from any thread.
 *
 * <h2>What strangers get</h2>
 * Until the handshake succeeds a connection can carry only HELLO, AUTH_RESPONSE and DISCONNECT
 * of at most a few hundred bytes, at most {@link #UNAUTHENTICATED_MAX} such connections are
 * open at once, and each must finish within {@code timeout}. Rejections are logged once per
 * distinct reason per minute.
 */
public final class PeerLink implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PeerLink.class.getName());
    /** Unauthenticated inbound connections allowed at once; the peer needs one or two. */
    static final int UNAUTHENTICATED_MAX = 8;
    /** Peer nonces remembered, so a recorded HELLO is refused outright. */
    static final int NONCE_HISTORY = 4096;
    static final long LOG_WINDOW_NS = TimeUnit.SECONDS.toNanos(60);

    /** What the resource hears from its link; every call comes on the link's event loop. */
    public interface Listener {
        /** A session began; {@code s.send} may be used from now on. */
        void onConnected(PeerSession s, HandshakeResult r);

        /**
         * A message from the peer, in the order the peer sent it. PING and PING_ACK are
         * answered by the link and not delivered; DISCONNECT is delivered, then the session
         * ends.
         */
        void onMessage(PeerSession s, Message m);

        /** The session ended; exactly once per {@code onConnected}. */
        void onDisconnected(PeerSession s, String reason);

        /** The session crossed a write buffer water mark; see {@link PeerSession#isWritable()}. */
        default void onWritabilityChanged(PeerSession s, boolean writable) {
        }

        /** Where the blocks of DATA and RS_DATA are received; null (the default): the heap. */
        default PayloadBuffers payloadBuffers() {
            return null;
        }
    }

    /** Connection states, as operators see them in status. */
    public enum State {
        STAND_ALONE("StandAlone"), CONNECTING("Connecting"), CONNECTED("Connected"),
        DISCONNECTING("Disconnecting");

        private final String label;

        State(String label) {
            this.label = label;
        }

        /** The operator-facing spelling, e.g. {@code StandAlone}. */
        public String label() {
            return label;
        }
    }

    private final EventLoop loop;
    private final PeerLinkConfig config;
    private final Listener listener;
    private final String prefix;
    private final TrafficCounters totals = new TrafficCounters(null);
    private final NonceHistory nonces = new NonceHistory(NONCE_HISTORY);
    private final SecureRandom random = new SecureRandom();
    private final RejectionLog logLimit = new RejectionLog(LOG_WINDOW_NS, System::nanoTime);
    private final long timeoutMs;

    // Written on the loop, read anywhere.
    private volatile State state = State.STAND_ALONE;
    private volatile PeerSession session;
    private volatile InetSocketAddress boundAddress;
    private volatile long handshakeFailures;
    private volatile boolean closed;

    // Confined to the loop.
    private boolean wanted;
    private Channel server;
    private boolean binding;
    private int serversClosing;
    private PeerConnection dialing;
    private PeerConnection current;
    private final Set<PeerConnection> connections = new LinkedHashSet<>();
    private ScheduledFuture<?> retryTimer;
    private CompletableFuture<Void> standAlone;
    private long nextId = 1;

    private PeerLink(EventLoop loop, PeerLinkConfig config, Listener listener) {
        this.loop = loop;
        this.config = config;
        this.listener = listener;
        this.prefix = "peer " + config.resource() + ": ";
        this.timeoutMs = config.timeout().toMillis();
    }

    /** A link in StandAlone: it neither listens nor connects until {@link #connect()}. */
    public static PeerLink create(EventLoopGroup group, PeerLinkConfig config, Listener listener) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(listener, "listener");
        return new PeerLink(group.next(), config, listener);
    }

    /** A link that starts listening and connecting at once. */
    public static PeerLink start(EventLoopGroup group, PeerLinkConfig config, Listener listener) {
        PeerLink link = create(group, config, listener);
        link.connect();
        return link;
    }

    /** Listens and connects until {@link #disconnect()}; does nothing if already doing so. */
    public void connect() {
        if (closed) {
            throw new IllegalStateException(prefix + "the link is closed");
        }
        loop.execute(() -> {
            if (wanted || closed) {
                return;
            }
            wanted = true;
            if (standAlone != null) {
                // A connect overtook the disconnect: the disconnect is over as far as its
                // caller can tell.
                standAlone.complete(null);
                standAlone = null;
            }
            LOG.log(Level.INFO, prefix + "connecting: listening on " + config.listenAddress() + ", peer '"
                    + config.peerNode() + "' at " + config.peerAddress());
            retry();
            updateState();
        });
    }

    /**
     * Goes StandAlone: stops listening and connecting, and ends the session with DISCONNECT
     * (operator). The future completes when every socket of the link is closed (or when a
     * {@link #connect()} overtakes it).
     */
    public CompletableFuture<Void> disconnect() {
        return disconnect(DisconnectReason.OPERATOR, "disconnect requested");
    }

    private CompletableFuture<Void> disconnect(DisconnectReason reason, String detail) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        loop.execute(() -> {
            if (wanted) {
                LOG.log(Level.INFO, prefix + "disconnecting (" + detail + ")");
            }
            wanted = false;
            if (retryTimer != null) {
                retryTimer.cancel(false);
                retryTimer = null;
            }
            closeServer();
            for (PeerConnection c : new ArrayList<>(connections)) {
                if (c == current) {
                    endSession(c, detail);
                    c.close(reason, detail, timeoutMs);
                } else {
                    c.close(detail);
                }
            }
            if (standAlone == null) {
                standAlone = new CompletableFuture<>();
            }
            standAlone.whenComplete((v, e) -> done.complete(null));
            maybeStandAlone();
        });
        return done;
    }

    /**
     * Disconnects (telling the peer we shut down) and waits until every socket is closed.
     * Idempotent. Must not be called on the link's event loop, which it waits for.
     */
    @Override
    public void close() {
        if (loop.inEventLoop()) {
            throw new IllegalStateException(prefix + "close() would wait for the event loop it runs on");
        }
        closed = true;
        CompletableFuture<Void> done = disconnect(DisconnectReason.SHUTDOWN, "shutting down");
        try {
            done.get(timeoutMs + 5_000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.log(Level.WARNING, prefix + "sockets still closing after " + (timeoutMs + 5_000) + " ms: " + e);
        }
    }

    /** The connection state for status. */
    public State state() {
        return state;
    }

    /** The current session, or null when not Connected. */
    public PeerSession session() {
        return session;
    }

    /** Traffic of every connection this link has had, authenticated or not. */
    public PeerCounters counters() {
        return totals.snapshot();
    }

    /** Connections that ended before authentication: refused by us, by the peer, or timed out. */
    public long handshakeFailures() {
        return handshakeFailures;
    }

    /** Where the link listens now, with the real port; null while not listening. */
    public InetSocketAddress listenAddress() {
        return boundAddress;
    }

    /** Sockets open now (connections, not the listening socket), for tests and status. */
    public int connectionCount() {
        if (loop.inEventLoop()) {
            return connections.size();
        }
        CompletableFuture<Integer> n = new CompletableFuture<>();
        loop.execute(() -> n.complete(connections.size()));
        return n.join();
    }

    public PeerLinkConfig config() {
        return config;
    }

    String resource() {
        return config.resource();
    }

    // ---- listening and dialing ------------------------------------------------------------

    private void retry() {
        retryTimer = null;
        if (!wanted) {
            return;
        }
        if (server == null && !binding) {
            bind();
        }
        if (current == null && dialing == null) {
            dial();
        }
    }

    private void scheduleRetry() {
        if (wanted && retryTimer == null) {
            retryTimer = loop.schedule(this::retry, config.connectRetry().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void bind() {
        binding = true;
        HostPort at = config.listenAddress();
        ServerBootstrap b = new ServerBootstrap().group(loop, loop).channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, UNAUTHENTICATED_MAX)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, waterMark())
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        accept(ch);
                    }
                });
        b.bind(new InetSocketAddress(at.host(), at.port())).addListener((ChannelFuture f) -> {
            binding = false;
            if (!f.isSuccess()) {
                logLimited(Level.WARNING, "bind", "cannot listen on " + at + ": " + f.cause().getMessage()
                        + "; retrying every " + config.connectRetry().toMillis() + " ms");
                scheduleRetry();
                maybeStandAlone();
                return;
            }
            if (!wanted) {
                closeServer(f.channel());
                return;
            }
            server = f.channel();
            boundAddress = (InetSocketAddress) server.localAddress();
            LOG.log(Level.DEBUG, prefix + "listening on " + boundAddress);
        });
    }

    private void closeServer() {
        if (server != null) {
            closeServer(server);
            server = null;
            boundAddress = null;
        }
    }

    private void closeServer(Channel ch) {
        serversClosing++;
        ch.close().addListener(f -> {
            serversClosing--;
            maybeStandAlone();
        });
    }

    private void dial() {
        HostPort to = config.peerAddress();
        PeerConnection c = new PeerConnection(nextId++, true, to.toString(), totals, listener.payloadBuffers());
        dialing = c;
        connections.add(c);
        Bootstrap b = new Bootstrap().group(loop).channel(EpollSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeoutMs))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, waterMark())
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        attach(c, ch);
                    }
                });
        b.connect(to.host(), to.port()).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                Throwable e = f.cause();
                c.reason("cannot connect to " + to + ": " + e.getMessage());
                logLimited(Level.INFO, "dial " + e.getClass().getSimpleName() + " " + e.getMessage(),
                        "cannot connect to peer '" + config.peerNode() + "' at " + to + ": " + e.getMessage()
                                + "; retrying every " + config.connectRetry().toMillis() + " ms");
                if (c.channel == null) {
                    // Registration failed, so no close event will come for this attempt.
                    closed(c);
                }
            }
        });
    }

    private void accept(SocketChannel ch) {
        if (!wanted) {
            ch.close();
            return;
        }
        long unauthenticated = connections.stream()
                .filter(c -> !c.outbound && c.phase == PeerConnection.Phase.HANDSHAKING).count();
        if (unauthenticated >= UNAUTHENTICATED_MAX) {
            handshakeFailures++;
            logLimited(Level.WARNING, "too many", "refused connection from " + ch.remoteAddress() + ": already "
                    + unauthenticated + " unauthenticated connections open");
            ch.close();
            return;
        }
        PeerConnection c = new PeerConnection(nextId++, false, null, totals, listener.payloadBuffers());
        connections.add(c);
        attach(c, ch);
    }

    /** Builds the pipeline of a new connection; the same for both directions. */
    private void attach(PeerConnection c, Channel ch) {
        c.channel = ch;
        Handshake handshake = new Handshake(config.handshakeConfig(), random, nonces);
        ch.pipeline().addLast("decoder", c.decoder)
                .addLast("encoder", c.encoder)
                .addLast("handshake", new HandshakeHandler(this, c, handshake));
        ch.closeFuture().addListener(f -> closed(c));
    }

    private WriteBufferWaterMark waterMark() {
        return new WriteBufferWaterMark(config.writeBufferLowBytes(), config.writeBufferHighBytes());
    }

    // ---- connection events, all on the loop ----------------------------------------------------

    void connectionActive(PeerConnection c) {
        c.active = true;
        c.establishTimer = loop.schedule(() -> {
            c.establishTimer = null;
            if (c.phase == PeerConnection.Phase.HANDSHAKING) {
                reject(c, "handshake timeout", "handshake not finished within " + timeoutMs + " ms");
            } else if (c.phase == PeerConnection.Phase.CANDIDATE) {
                reject(c, "choice timeout", "peer '" + config.peerNode() + "' did not choose this connection within "
                        + timeoutMs + " ms");
            }
        }, timeoutMs, TimeUnit.MILLISECONDS);
    }

    void handshakeFailed(PeerConnection c, HandshakeFailure failure) {
        reject(c, failure.reason().name(), failure.reason() + ": " + failure.detail());
    }

    /** Closes a connection that never authenticated, logging the reason within limits. */
    private void reject(PeerConnection c, String key, String detail) {
        handshakeFailures++;
        logLimited(Level.WARNING, key, "connection " + c.describe() + " closed before authentication: " + detail);
        c.close(detail);
    }

    void authenticated(PeerConnection c, HandshakeResult result) {
        c.result = result;
        c.phase = PeerConnection.Phase.CANDIDATE;
        if (!wanted) {
            c.close("link is disconnecting");
            return;
        }
        if (!config.decides()) {
            LOG.log(Level.DEBUG, prefix + "connection " + c.describe() + " authenticated; waiting for '"
                    + config.peerNode() + "' to choose it");
            return;
        }
        if (current != null) {
            logLimited(Level.INFO, "duplicate", "closing duplicate connection " + c.describe()
                    + ": the session already runs on #" + current.id + " (this node, '" + config.localNode()
                    + "', sorts lower and keeps the first authenticated connection)");
            c.close("duplicate connection; the session runs on #" + current.id);
            return;
        }
        establish(c);
    }

    void chosenByPeer(PeerConnection c) {
        if (current != null && current != c) {
            PeerConnection old = current;
            String why = "peer '" + config.peerNode() + "' chose a newer connection (#" + c.id + ")";
            endSession(old, why);
            old.close(why);
        }
        establish(c);
    }

    private void establish(PeerConnection c) {
        c.cancelEstablishTimer();
        c.phase = PeerConnection.Phase.SESSION;
        if (dialing == c) {
            dialing = null;
        }
        current = c;
        PeerSession s = new PeerSession(this, c, c.result);
        c.session = s;
        session = s;
        // Other authenticated connections are closed now. Ones still in the handshake may
        // finish it: the decider then closes them as duplicates, and on the follower they wait
        // for a choice that never comes. Closing them mid-handshake would look like a refusal
        // to the other node and be logged as one.
        for (PeerConnection other : new ArrayList<>(connections)) {
            if (other != c && other.phase == PeerConnection.Phase.CANDIDATE) {
                other.close("superseded by connection #" + c.id);
            }
        }
        s.start(config.pingInterval().toNanos(), config.pingTimeout().toNanos(), config.decides());
        updateState();
        LOG.log(Level.INFO, prefix + "connected to '" + config.peerNode() + "' on " + c.describe() + ", protocol "
                + c.result.version() + ", features " + Features.describe(c.result.features())
                + (Features.has(c.result.features(), Features.LZ4) ? " (LZ4 " + Lz4Block.implementation() + ")" : ""));
        try {
            listener.onConnected(s, c.result);
        } catch (RuntimeException e) {
            listenerFailed(c, "onConnected", e);
        }
    }

    void deliver(PeerConnection c, Message m) {
        if (c != current) {
            return;
        }
        try {
            listener.onMessage(c.session, m);
        } catch (RuntimeException e) {
            listenerFailed(c, "onMessage(" + m.type() + ")", e);
            return;
        }
        if (m instanceof Disconnect d) {
            peerDisconnected(c, d);
        }
    }

    void peerDisconnected(PeerConnection c, Disconnect d) {
        String why = "peer disconnected: " + d.reason() + (d.detail().isEmpty() ? "" : " (" + d.detail() + ")");
        if (c == current) {
            endSession(c, why);
        }
        c.close(why);
    }

    void writabilityChanged(PeerConnection c) {
        if (c != current) {
            return;
        }
        try {
            listener.onWritabilityChanged(c.session, c.channel.isWritable());
        } catch (RuntimeException e) {
            listenerFailed(c, "onWritabilityChanged", e);
        }
    }

    void connectionFailed(PeerConnection c, Throwable cause) {
        if (c.phase == PeerConnection.Phase.CLOSING) {
            return;
        }
        if (cause instanceof ProtocolException e) {
            String detail = "protocol error: " + e.getMessage();
            if (c == current) {
                logLimited(Level.WARNING, "protocol " + e.field(), "closing session " + c.describe() + ": " + detail);
                endSession(c, detail);
                c.close(DisconnectReason.PROTOCOL_ERROR, detail, timeoutMs);
            } else {
                reject(c, "protocol " + e.field(), detail);
            }
            return;
        }
        String detail = cause instanceof IOException ? "i/o error: " + cause.getMessage() : cause.toString();
        if (c == current) {
            if (!(cause instanceof IOException)) {
                LOG.log(Level.WARNING, prefix + "closing session " + c.describe() + " after an unexpected error",
                        cause);
            }
            endSession(c, detail);
            c.close(detail);
        } else {
            reject(c, "error " + cause.getClass().getSimpleName(), detail);
        }
    }

    private void listenerFailed(PeerConnection c, String callback, RuntimeException e) {
        LOG.log(Level.ERROR, prefix + "listener " + callback + " failed; closing the session", e);
        if (c == current) {
            String detail = "local error in " + callback + ": " + e;
            endSession(c, detail);
            c.close(DisconnectReason.LOCAL_ERROR, detail, timeoutMs);
        }
    }

    void closeSession(PeerSession s, DisconnectReason reason, String detail) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> closeSession(s, reason, detail));
            return;
        }
        PeerConnection c = s.connection();
        if (c != current) {
            return;
        }
        endSession(c, detail);
        if (reason == null) {
            c.close(detail);
        } else {
            c.close(reason, detail, timeoutMs);
        }
    }

    /**
     * Ends the session on {@code c} now, before its socket has closed, so that the listener
     * hears {@code onDisconnected} before any later {@code onConnected}.
     */
    private void endSession(PeerConnection c, String reason) {
        if (c != current) {
            return;
        }
        c.reason(reason);
        PeerSession s = c.session;
        current = null;
        session = null;
        s.end();
        updateState();
        LOG.log(Level.INFO, prefix + "disconnected from '" + config.peerNode() + "' (" + c.describe() + "): "
                + reason);
        try {
            listener.onDisconnected(s, reason);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, prefix + "listener onDisconnected failed", e);
        }
        scheduleRetry();
    }

    /** A socket of this link closed (or a dial failed before it had one). */
    private void closed(PeerConnection c) {
        if (c.closeHandled) {
            return;
        }
        c.closeHandled = true;
        connections.remove(c);
        c.cancelEstablishTimer();
        if (c.phase == PeerConnection.Phase.HANDSHAKING && c.closeReason() == null && c.active) {
            reject(c, "closed by peer", "peer closed the connection during the handshake");
        }
        if (c == current) {
            endSession(c, c.closeReason() != null ? c.closeReason() : "connection closed by the peer");
        }
        c.phase = PeerConnection.Phase.CLOSING;
        if (c == dialing) {
            dialing = null;
        }
        scheduleRetry();
        updateState();
        maybeStandAlone();
    }

    private void maybeStandAlone() {
        // The state first: whoever waits on the future may look at it at once.
        updateState();
        if (state == State.STAND_ALONE && standAlone != null) {
            CompletableFuture<Void> done = standAlone;
            standAlone = null;
            done.complete(null);
        }
    }

    private void updateState() {
        State s;
        if (current != null) {
            s = State.CONNECTED;
        } else if (wanted) {
            s = State.CONNECTING;
        } else if (!connections.isEmpty() || server != null || binding || serversClosing > 0) {
            s = State.DISCONNECTING;
        } else {
            s = State.STAND_ALONE;
        }
        state = s;
    }

    private void logLimited(Level level, String key, String message) {
        String suffix = logLimit.admit(key);
        if (suffix != null) {
            LOG.log(level, prefix + message + suffix);
        }
    }
}
