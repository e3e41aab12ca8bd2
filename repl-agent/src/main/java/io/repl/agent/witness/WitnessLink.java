package io.repl.agent.witness;

import io.repl.agent.peer.RejectionLog;

import io.repl.core.replication.Liveness;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.repl.agent.config.HostPort;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Message;
import io.repl.protocol.ProtocolException;
import io.repl.protocol.handshake.Handshake;
import io.repl.protocol.handshake.HandshakeFailure;
import io.repl.protocol.handshake.HandshakeResult;
import io.repl.protocol.handshake.NonceHistory;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.security.SecureRandom;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A node's connection to the witness of one resource (docs/FAILOVER.md, section 5): dials the
 * witness, authenticates with the resource's shared secret (the witness's node name is
 * {@code witness}), keeps one session, and dials again every {@code connectRetry} until
 * {@link #close()}. The witness never dials nodes, so unlike the peer link there is only ever
 * one connection and nothing to choose between.
 *
 * <p>Liveness is the peer link's rule: after {@code pingInterval} without a byte from the
 * witness we send PING, and {@code pingTimeout} later without a byte the session is dropped.
 * PINGs from the witness are answered here; neither reaches the listener.
 *
 * <h2>Threads</h2>
 * Everything happens on the event loop given to {@link #start}: the socket, the timers and
 * every listener call, so the listener needs no locks if it lives on that loop too.
 * {@link #send} and {@link #connected()} may be called from any thread.
 *
 * <p>Connection changes, dial failures and refusals are logged once per distinct reason per
 * minute, so a witness that is down for a day costs a line a minute, not one per retry.
 */
public final class WitnessLink implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WitnessLink.class.getName());
    /** Witness nonces remembered, so a recorded HELLO of the witness is refused outright. */
    static final int NONCE_HISTORY = 1024;
    static final long LOG_WINDOW_NS = TimeUnit.SECONDS.toNanos(60);
    /** How long {@link #close()} waits beyond the timeout for the socket to close. */
    private static final long CLOSE_SLACK_MS = 5_000;

    /** Calls arrive on the link's event loop, in order. */
    public interface Listener {
        /** An authenticated session with the witness is up; {@link #send} reaches it from now on. */
        void onConnected();

        /**
         * A session message from the witness, in order. PING and PING_ACK are handled by the
         * link; a DISCONNECT is delivered, then the session ends.
         */
        void onMessage(Message m);

        /** The session ended; exactly once per {@link #onConnected()}. */
        void onDisconnected(String reason);
    }

    private final EventLoop loop;
    private final WitnessLinkConfig config;
    private final Listener listener;
    private final String prefix;
    private final long timeoutMs;
    private final SecureRandom random = new SecureRandom();
    private final NonceHistory nonces = new NonceHistory(NONCE_HISTORY);
    private final RejectionLog logLimit = new RejectionLog(LOG_WINDOW_NS, System::nanoTime);
    /** Completes when the link is closed and its socket with it. */
    private final CompletableFuture<Void> shutDown = new CompletableFuture<>();

    // Written on the loop, read anywhere.
    private volatile WitnessConnection session;
    private volatile boolean closed;

    // Confined to the loop.
    private WitnessConnection current;
    private ScheduledFuture<?> retryTimer;
    private long nextId = 1;

    private WitnessLink(EventLoop loop, WitnessLinkConfig config, Listener listener) {
        this.loop = loop;
        this.config = config;
        this.listener = listener;
        this.prefix = "witness link " + config.resource() + ": ";
        this.timeoutMs = config.timeout().toMillis();
    }

    /** A link that dials the witness at once, on {@code loop} (an epoll loop, as every loop of the agent). */
    public static WitnessLink start(EventLoop loop, WitnessLinkConfig config, Listener listener) {
        Objects.requireNonNull(loop, "loop");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(listener, "listener");
        WitnessLink link = new WitnessLink(loop, config, listener);
        LOG.log(Level.INFO, link.prefix + "connecting to the witness at " + config.witness() + " as '"
                + config.localNode() + "'");
        loop.execute(link::dial);
        return link;
    }

    /**
     * Sends {@code m} to the witness. From any thread; messages from one thread keep their
     * order. Dropped (with a DEBUG line) when no session is up: the caller learns of that
     * through the listener, and sends again after the next {@code onConnected}.
     */
    public void send(Message m) {
        Objects.requireNonNull(m, "m");
        WitnessConnection s = session;
        if (s == null) {
            LOG.log(Level.DEBUG, () -> prefix + "not connected to the witness; dropped " + m.type());
            return;
        }
        // Not the void promise: a write that races the end of the session fails quietly
        // instead of reaching the pipeline as an error.
        s.channel.writeAndFlush(m);
    }

    /** True while an authenticated session with the witness is up. */
    public boolean connected() {
        return session != null;
    }

    /**
     * Stops dialing, ends the session with DISCONNECT (shutdown) and waits until the socket is
     * closed. Idempotent. Must not be called on the link's event loop, which it waits for.
     */
    @Override
    public void close() {
        if (loop.inEventLoop()) {
            throw new IllegalStateException(prefix + "close() would wait for the event loop it runs on");
        }
        closed = true;
        try {
            loop.execute(this::shutDownOnLoop);
        } catch (RejectedExecutionException e) {
            // The loop is gone, and the socket with it.
            return;
        }
        long waitMs = timeoutMs + CLOSE_SLACK_MS;
        try {
            shutDown.get(waitMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.log(Level.WARNING, prefix + "socket still closing after " + waitMs + " ms: " + e);
        }
    }

    @Override
    public String toString() {
        return "WitnessLink[" + config.resource() + " " + config.localNode() + " -> " + config.witness()
                + (connected() ? ", connected]" : "]");
    }

    // ---- everything below runs on the loop; the package-private methods are WitnessConnection's calls

    private void dial() {
        retryTimer = null;
        if (closed || current != null) {
            return;
        }
        HostPort to = config.witness();
        WitnessConnection c = new WitnessConnection(this, nextId++,
                new Handshake(config.handshakeConfig(), random, nonces), timeoutMs);
        current = c;
        Bootstrap b = new Bootstrap().group(loop).channel(EpollSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeoutMs))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("decoder", c.decoder).addLast("encoder", c.encoder)
                                .addLast("witness", c);
                    }
                });
        ChannelFuture connecting = b.connect(to.host(), to.port());
        c.channel = connecting.channel();
        c.channel.closeFuture().addListener(f -> closed(c));
        connecting.addListener((ChannelFuture f) -> {
            if (f.isSuccess()) {
                return;
            }
            Throwable e = f.cause();
            c.ended = true;
            logLimited(Level.INFO, "dial " + e.getClass().getSimpleName() + " " + e.getMessage(),
                    "cannot connect to the witness at " + to + ": " + e.getMessage() + "; retrying every "
                            + config.connectRetry().toMillis() + " ms");
            if (!f.channel().isRegistered()) {
                // Registration failed, so no close event will come for this attempt.
                closed(c);
            }
        });
    }

    private void scheduleRetry() {
        if (!closed && retryTimer == null && current == null) {
            retryTimer = loop.schedule(this::dial, config.connectRetry().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void shutDownOnLoop() {
        if (retryTimer != null) {
            retryTimer.cancel(false);
            retryTimer = null;
        }
        WitnessConnection c = current;
        if (c == null) {
            shutDown.complete(null);
            return;
        }
        boolean wasSession = c.authenticated && !c.ended;
        end(c, "shutdown", "the link is closing");
        if (wasSession) {
            Disconnects.send(c.channel, DisconnectReason.SHUTDOWN, "shutting down", timeoutMs);
        } else {
            c.channel.close();
        }
    }

    /** The socket of {@code c} closed, or its dial failed before it had one. */
    private void closed(WitnessConnection c) {
        if (c.closeHandled) {
            return;
        }
        c.closeHandled = true;
        if (c.active && !c.authenticated && !c.ended) {
            logLimited(Level.WARNING, "closed in handshake", "the witness at " + config.witness()
                    + " closed the connection during the handshake");
        }
        end(c, "closed", "connection closed by the witness");
        if (current == c) {
            current = null;
        }
        if (closed) {
            shutDown.complete(null);
        } else {
            scheduleRetry();
        }
    }

    /**
     * Marks {@code c} over and, if it carried the session, tells the listener before the
     * socket has closed, so {@code onDisconnected} always precedes the next {@code onConnected}.
     */
    private void end(WitnessConnection c, String key, String reason) {
        if (c.ended) {
            return;
        }
        c.ended = true;
        c.cancelTimer();
        if (!c.authenticated) {
            return;
        }
        session = null;
        logLimited(Level.INFO, "disconnected " + key, "disconnected from the witness at " + config.witness() + " (#"
                + c.id + "): " + reason);
        try {
            listener.onDisconnected(reason);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, prefix + "listener onDisconnected failed", e);
        }
    }

    /** Ends the session and tells the witness why. */
    private void endWith(WitnessConnection c, DisconnectReason wire, String key, String reason) {
        end(c, key, reason);
        Disconnects.send(c.channel, wire, reason, timeoutMs);
    }

    void handshakeTimedOut(WitnessConnection c) {
        c.ended = true;
        logLimited(Level.WARNING, "handshake timeout", "handshake with the witness at " + config.witness()
                + " not finished within " + timeoutMs + " ms");
        c.channel.close();
    }

    void refused(WitnessConnection c, HandshakeFailure failure) {
        c.ended = true;
        c.cancelTimer();
        logLimited(Level.WARNING, "refused " + failure.reason(), "handshake with the witness at " + config.witness()
                + " failed: " + failure.reason() + ": " + failure.detail());
        c.channel.close();
    }

    void authenticated(WitnessConnection c, HandshakeResult result) {
        c.startLiveness(config.pingInterval().toNanos(), config.pingTimeout().toNanos());
        session = c;
        logLimited(Level.INFO, "connected", "connected to the witness at " + config.witness() + " (#" + c.id
                + "), protocol " + result.version());
        try {
            listener.onConnected();
        } catch (RuntimeException e) {
            listenerFailed(c, "onConnected", e);
        }
    }

    /** A session message other than PING and PING_ACK. */
    void deliver(WitnessConnection c, Message m) {
        try {
            listener.onMessage(m);
        } catch (RuntimeException e) {
            listenerFailed(c, "onMessage(" + m.type() + ")", e);
            return;
        }
        if (m instanceof Disconnect d) {
            end(c, "by witness " + d.reason(), "the witness disconnected: " + d.reason()
                    + (d.detail().isEmpty() ? "" : " (" + d.detail() + ")"));
            c.channel.close();
        }
    }

    void dead(WitnessConnection c, String reason) {
        end(c, "not answering", reason);
        c.channel.close();
    }

    void failed(WitnessConnection c, Throwable cause) {
        if (c.ended) {
            return;
        }
        if (cause instanceof ProtocolException e) {
            String detail = "protocol error: " + e.getMessage();
            logLimited(Level.WARNING, "protocol " + e.field(), "closing connection #" + c.id
                    + " to the witness: " + detail);
            endWith(c, DisconnectReason.PROTOCOL_ERROR, "protocol " + e.field(), detail);
            return;
        }
        if (!(cause instanceof IOException)) {
            LOG.log(Level.WARNING, prefix + "closing connection #" + c.id + " after an unexpected error", cause);
        }
        String detail = cause instanceof IOException ? "i/o error: " + cause.getMessage() : cause.toString();
        end(c, "error " + cause.getClass().getSimpleName(), detail);
        c.channel.close();
    }

    private void listenerFailed(WitnessConnection c, String callback, RuntimeException e) {
        LOG.log(Level.ERROR, prefix + "listener " + callback + " failed; closing the session", e);
        endWith(c, DisconnectReason.LOCAL_ERROR, "listener", "local error in " + callback + ": " + e);
    }

    private void logLimited(Level level, String key, String message) {
        String suffix = logLimit.admit(key);
        if (suffix != null) {
            LOG.log(level, prefix + message + suffix);
        }
    }
}
