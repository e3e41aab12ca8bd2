package io.repl.agent.witness;

import io.repl.agent.peer.RejectionLog;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.repl.agent.config.ConfigException;
import io.repl.agent.config.HostPort;
import io.repl.core.witness.WitnessRecord;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Message;
import io.repl.protocol.Ping;
import io.repl.protocol.PingAck;
import io.repl.protocol.ProtocolException;
import io.repl.protocol.WitnessReport;
import io.repl.protocol.WitnessRequest;
import io.repl.protocol.WitnessVerdict;
import io.repl.protocol.handshake.NonceHistory;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * The witness (docs/FAILOVER.md, section 5): serves every resource of a config directory that
 * has a {@code [witness]} section, on each distinct {@code [witness] address} they name.
 *
 * <p>A node connects, names itself and its resource in HELLO, and must prove the resource's
 * shared secret; the witness answers as node {@code witness}. After that a node may send
 * WITNESS_REPORT and WITNESS_REQUEST (answered with WITNESS_VERDICT on the same connection),
 * PING (answered with PING_ACK) and DISCONNECT. Anything else is a protocol error and ends
 * that connection. A node that sends nothing for {@code ping-interval + ping-timeout} of its
 * resource is gone: its link would have sent PING long before.
 *
 * <h2>Threads</h2>
 * The listening sockets and every connection live on one event loop, so the connection
 * bookkeeping needs no locks; decisions run on the {@link DecisionQueue}'s one thread, which
 * writes each verdict back to the connection that asked.
 *
 * <h2>What strangers get</h2>
 * As on the peer link: until the handshake succeeds a connection can carry only HELLO,
 * AUTH_RESPONSE and DISCONNECT of at most a few hundred bytes, only a bounded number of
 * them are open at once, each must finish within the resources' {@code timeout}, and
 * rejections are logged once per distinct reason per minute.
 */
public final class WitnessServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WitnessServer.class.getName());
    /** Unauthenticated connections allowed at once per address, before two per resource served there. */
    static final int UNAUTHENTICATED_BASE = 8;
    /** Node nonces remembered, so a recorded HELLO is refused outright. */
    static final int NONCE_HISTORY = 4096;
    static final long LOG_WINDOW_NS = TimeUnit.SECONDS.toNanos(60);
    private static final long BIND_WAIT_MS = 30_000;
    private static final long CLOSE_SLACK_MS = 5_000;
    /** How long a node gets at shutdown to read its DISCONNECT before its socket is closed anyway. */
    private static final long SHUTDOWN_GRACE_MS = 2_000;

    /**
     * One listening address and the resources served there.
     *
     * @param unauthenticatedMax every node of every resource may be mid-handshake at once
     *     (a witness restart makes them all dial again), plus room for a few strangers
     * @param handshakeTimeoutMs the longest {@code timeout} of those resources: the resource
     *     is known only once the HELLO has arrived
     */
    record Listening(HostPort address, Map<String, WitnessConfigs.Served> resources, int unauthenticatedMax,
                     long handshakeTimeoutMs) {
    }

    private final EventLoop loop;
    private final DecisionQueue decisions;
    private final SecureRandom random = new SecureRandom();
    private final NonceHistory nonces = new NonceHistory(NONCE_HISTORY);
    private final RejectionLog logLimit = new RejectionLog(LOG_WINDOW_NS, System::nanoTime);
    private final AtomicBoolean closed = new AtomicBoolean();
    private final List<Channel> listeners = new ArrayList<>();

    // Confined to the loop.
    private boolean closing;
    private final Set<NodeConnection> connections = new LinkedHashSet<>();
    /** The session of each node, by "resource/node": a newer one replaces an older one. */
    private final Map<String, NodeConnection> sessions = new HashMap<>();
    private long nextId = 1;

    private WitnessServer(EventLoop loop, DecisionQueue decisions) {
        this.loop = loop;
        this.decisions = decisions;
    }

    /**
     * Reads {@code configDir}, opens the records under {@code stateDir/witness}, and listens.
     * Resources without a {@code [witness]} section, files with errors and resources whose
     * record cannot be read are logged and not served; the others are. Must not be called on
     * a loop of {@code group}, which it waits for.
     *
     * @throws ConfigException when the directory cannot be read or no resource in it has a
     *     {@code [witness]} section
     * @throws IOException when the state directory cannot be used, no record can be read, or
     *     no address can be bound
     */
    public static WitnessServer start(EventLoopGroup group, Path configDir, Path stateDir)
            throws ConfigException, IOException {
        WitnessConfigs.Directory dir = WitnessConfigs.load(configDir);
        dir.errors().forEach((name, err) -> LOG.log(Level.ERROR, "witness " + name + ": not served: " + err));
        dir.unwitnessed().forEach((name, file) -> LOG.log(Level.INFO, "witness " + name + ": not served: " + file
                + " has no [witness] section"));
        if (dir.served().isEmpty()) {
            throw new ConfigException(configDir + ": no resource file with a [witness] section"
                    + (dir.errors().isEmpty() ? "" : " that could be read") + "; the witness has nothing to serve");
        }
        Path recordDir = stateDir.resolve("witness");
        FileWitnessStore store;
        try {
            store = FileWitnessStore.open(recordDir);
        } catch (IOException e) {
            throw new IOException(recordDir + ": cannot create the witness's state directory: " + e, e);
        }
        Map<String, List<String>> nodes = new TreeMap<>();
        dir.served().forEach((name, s) -> nodes.put(name, s.nodes()));
        DecisionQueue decisions = new DecisionQueue(store, nodes);
        WitnessServer server = new WitnessServer(group.next(), decisions);
        try {
            server.listen(servable(dir.served(), decisions));
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    /** The resources whose record could be read, each logged with its record. */
    private static Map<String, WitnessConfigs.Served> servable(Map<String, WitnessConfigs.Served> served,
                                                               DecisionQueue decisions) throws IOException {
        Map<String, String> unreadable = new TreeMap<>();
        Map<String, WitnessRecord> records = decisions.load(unreadable);
        unreadable.forEach((name, why) -> LOG.log(Level.ERROR, "witness " + name + ": not served: its record cannot"
                + " be read: " + why + ". Restore the file from a backup, or move it away to start this resource "
                + "with no record (safe: nothing is granted until both nodes report from an in-sync pair)"));
        Map<String, WitnessConfigs.Served> ok = new TreeMap<>();
        records.forEach((name, record) -> {
            WitnessConfigs.Served s = served.get(name);
            ok.put(name, s);
            LOG.log(Level.INFO, "witness " + name + ": serving nodes " + String.join(" and ", s.nodes()) + " at "
                    + s.address() + "; record: " + DecisionQueue.describe(record, s.nodes()));
        });
        if (ok.isEmpty()) {
            throw new IOException("no witness record could be read; nothing to serve");
        }
        return ok;
    }

    private void listen(Map<String, WitnessConfigs.Served> served) throws IOException {
        Map<HostPort, Map<String, WitnessConfigs.Served>> byAddress = new LinkedHashMap<>();
        served.forEach((name, s) -> byAddress.computeIfAbsent(s.address(), a -> new TreeMap<>()).put(name, s));
        Map<Listening, ChannelFuture> binding = new LinkedHashMap<>();
        byAddress.forEach((address, resources) -> {
            long timeoutMs = resources.values().stream().mapToLong(r -> r.timeout().toMillis()).max().orElseThrow();
            Listening l = new Listening(address, Map.copyOf(resources), UNAUTHENTICATED_BASE + 2 * resources.size(),
                    timeoutMs);
            binding.put(l, bind(l));
        });
        for (Map.Entry<Listening, ChannelFuture> e : binding.entrySet()) {
            ChannelFuture f = e.getValue();
            if (!f.awaitUninterruptibly(BIND_WAIT_MS)) {
                f.channel().close();
                LOG.log(Level.ERROR, "witness: cannot listen on " + e.getKey().address() + ": no answer within "
                        + BIND_WAIT_MS + " ms; not serving " + String.join(", ", e.getKey().resources().keySet()));
            } else if (f.isSuccess()) {
                synchronized (listeners) {
                    listeners.add(f.channel());
                }
            }
        }
        if (listenAddresses().isEmpty()) {
            throw new IOException("the witness could not listen on any address ("
                    + byAddress.keySet().stream().map(HostPort::toString).collect(Collectors.joining(", ")) + ")");
        }
    }

    private ChannelFuture bind(Listening l) {
        ServerBootstrap b = new ServerBootstrap().group(loop, loop).channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, l.unauthenticatedMax())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        accept(l, ch);
                    }
                });
        // Bound as written: a host name is resolved here, once.
        ChannelFuture bound = b.bind(new InetSocketAddress(l.address().host(), l.address().port()));
        // Logged on the loop as soon as the socket is bound, so the line comes before anything
        // a connection to it can make the witness log.
        String names = String.join(", ", l.resources().keySet());
        bound.addListener(f -> {
            if (f.isSuccess()) {
                LOG.log(Level.INFO, "witness listening on " + bound.channel().localAddress() + " for " + names);
            } else {
                LOG.log(Level.ERROR, "witness: cannot listen on " + l.address() + ": " + f.cause().getMessage()
                        + "; not serving " + names);
            }
        });
        return bound;
    }

    /** Where the witness listens now, with the real ports. */
    public List<InetSocketAddress> listenAddresses() {
        synchronized (listeners) {
            return listeners.stream().filter(Channel::isActive)
                    .map(ch -> (InetSocketAddress) ch.localAddress()).toList();
        }
    }

    /**
     * Closes the listening sockets, ends every session with DISCONNECT (shutdown), waits (with
     * a deadline) for the sockets and the decisions under way. Idempotent. Must not be called
     * on the server's event loop.
     */
    @Override
    public void close() {
        if (loop.inEventLoop()) {
            throw new IllegalStateException("witness: close() would wait for the event loop it runs on");
        }
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long graceMs = SHUTDOWN_GRACE_MS;
        CompletableFuture<List<ChannelFuture>> closing = new CompletableFuture<>();
        try {
            loop.execute(() -> closing.complete(closeOnLoop(graceMs)));
        } catch (RejectedExecutionException e) {
            // The loop is gone, and the sockets with it.
            closing.complete(List.of());
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(graceMs + CLOSE_SLACK_MS);
        try {
            for (ChannelFuture f : closing.get(graceMs + CLOSE_SLACK_MS, TimeUnit.MILLISECONDS)) {
                long leftMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                if (!f.awaitUninterruptibly(leftMs)) {
                    LOG.log(Level.WARNING, "witness: a socket is still closing; not waiting longer");
                    break;
                }
            }
        } catch (Exception e) {
            LOG.log(Level.WARNING, "witness: closing the sockets did not finish: " + e);
        }
        decisions.close();
    }

    private List<ChannelFuture> closeOnLoop(long graceMs) {
        closing = true;
        List<ChannelFuture> done = new ArrayList<>();
        synchronized (listeners) {
            for (Channel l : listeners) {
                done.add(l.close());
            }
        }
        for (NodeConnection c : new ArrayList<>(connections)) {
            done.add(c.channel.closeFuture());
            if (c.authenticated && !c.ending) {
                endWith(c, DisconnectReason.SHUTDOWN, "the witness is shutting down", graceMs);
            } else {
                close(c, "the witness is shutting down");
            }
        }
        return done;
    }

    // ---- connection events, all on the loop ------------------------------------------------------

    private void accept(Listening l, SocketChannel ch) {
        if (closing) {
            ch.close();
            return;
        }
        long unauthenticated = connections.stream().filter(c -> c.listening == l && !c.authenticated).count();
        if (unauthenticated >= l.unauthenticatedMax()) {
            logLimited(Level.WARNING, "too many", "witness: refused connection from " + ch.remoteAddress()
                    + ": already " + unauthenticated + " unauthenticated connections open on " + l.address());
            ch.close();
            return;
        }
        NodeConnection c = new NodeConnection(this, l, ch, nextId++, random, nonces);
        connections.add(c);
        c.attach();
        ch.closeFuture().addListener(f -> closed(c));
    }

    /** Closes a connection that never authenticated, logging the reason within limits. */
    void reject(NodeConnection c, String key, String detail) {
        logLimited(Level.WARNING, key, "witness: connection " + c.describe() + " closed before authentication: "
                + detail);
        close(c, detail);
    }

    void authenticated(NodeConnection c) {
        if (closing) {
            close(c, "the witness is shutting down");
            return;
        }
        String key = c.resource.name() + "/" + c.node;
        NodeConnection old = sessions.put(key, c);
        String prefix = "witness " + c.resource.name() + ": ";
        LOG.log(Level.INFO, prefix + c.node + " connected (#" + c.id + ", node id " + c.nodeId + ")");
        if (old != null && !old.ending) {
            // The node dialed again, so it has given up on the old connection (it restarted,
            // or its host lost the socket); keeping it would only delay its end to the silence
            // limit.
            endWith(old, DisconnectReason.LOCAL_ERROR, "superseded by a newer connection of " + c.node + " (#"
                    + c.id + ")", graceMs(old));
        }
    }

    void sessionMessage(NodeConnection c, Message m) {
        if (m instanceof WitnessReport || m instanceof WitnessRequest) {
            if (!decisions.submit(c.resource.name(), c.node, c.nodeId, m, new Answer(c))) {
                protocolError(c, DecisionQueue.QUEUED_MAX + " messages already wait for a decision");
            }
        } else if (m instanceof Ping ping) {
            c.channel.writeAndFlush(new PingAck(ping.token()), c.channel.voidPromise());
        } else if (m instanceof Disconnect d) {
            close(c, c.node + " sent DISCONNECT: " + d.reason() + (d.detail().isEmpty() ? "" : " (" + d.detail()
                    + ")"));
        } else {
            protocolError(c, m.type() + " is not a message for the witness; it takes WITNESS_REPORT, "
                    + "WITNESS_REQUEST, PING and DISCONNECT");
        }
    }

    void silent(NodeConnection c) {
        close(c, c.node + " sent nothing for " + c.resource.silenceMax().toMillis() + " ms (ping-interval + "
                + "ping-timeout)");
    }

    void failed(NodeConnection c, Throwable cause) {
        if (c.ending) {
            return;
        }
        if (cause instanceof ProtocolException e) {
            if (c.authenticated) {
                protocolError(c, e.getMessage());
            } else {
                reject(c, "protocol " + e.field(), "protocol error: " + e.getMessage());
            }
            return;
        }
        String detail = cause instanceof IOException ? "i/o error: " + cause.getMessage() : cause.toString();
        if (!(cause instanceof IOException)) {
            LOG.log(Level.WARNING, "witness: closing connection " + c.describe() + " after an unexpected error",
                    cause);
        }
        if (c.authenticated) {
            close(c, detail);
        } else {
            reject(c, "error " + cause.getClass().getSimpleName(), detail);
        }
    }

    private void protocolError(NodeConnection c, String detail) {
        LOG.log(Level.WARNING, "witness " + c.resource.name() + ": closing the session of " + c.describe()
                + ": protocol error: " + detail);
        endWith(c, DisconnectReason.PROTOCOL_ERROR, "protocol error: " + detail, graceMs(c));
    }

    /** How long a node that stopped reading gets to take its DISCONNECT before we close anyway. */
    private static long graceMs(NodeConnection c) {
        return c.listening.handshakeTimeoutMs();
    }

    private void endWith(NodeConnection c, DisconnectReason wire, String reason, long graceMs) {
        c.reason(reason);
        c.ending = true;
        c.cancelHandshakeTimer();
        Disconnects.send(c.channel, wire, reason, graceMs);
    }

    private void close(NodeConnection c, String reason) {
        c.reason(reason);
        c.ending = true;
        c.cancelHandshakeTimer();
        c.channel.close();
    }

    /** A socket closed, for whatever reason. */
    private void closed(NodeConnection c) {
        connections.remove(c);
        c.cancelHandshakeTimer();
        if (!c.authenticated) {
            if (!c.ending) {
                logLimited(Level.WARNING, "closed by peer", "witness: connection " + c.describe()
                        + " closed by the other side before authentication");
            }
            return;
        }
        sessions.remove(c.resource.name() + "/" + c.node, c);
        LOG.log(Level.INFO, "witness " + c.resource.name() + ": session of " + c.node + " (#" + c.id + ") ended: "
                + (c.reason() != null ? c.reason() : "connection closed by " + c.node));
    }

    private void logLimited(Level level, String key, String message) {
        String suffix = logLimit.admit(key);
        if (suffix != null) {
            LOG.log(level, message + suffix);
        }
    }

    /** Writes a verdict back to the connection that asked; called on the decision thread. */
    private final class Answer implements DecisionQueue.Reply {
        private final NodeConnection c;

        Answer(NodeConnection c) {
            this.c = c;
        }

        @Override
        public void verdict(WitnessVerdict v) {
            // Netty hands the write to the connection's loop; a closed connection drops it, and
            // the node asks again on its next connection (the record remembers the answer).
            c.channel.writeAndFlush(v);
        }

        @Override
        public void recordChanged(WitnessVerdict notice) {
            loop.execute(() -> {
                for (NodeConnection other : sessions.values()) {
                    if (other != c && other.resource.name().equals(c.resource.name()) && !other.ending) {
                        other.channel.writeAndFlush(notice);
                    }
                }
            });
        }

        @Override
        public void failed(String why) {
            loop.execute(() -> {
                if (!c.ending) {
                    endWith(c, DisconnectReason.LOCAL_ERROR, why, graceMs(c));
                }
            });
        }
    }
}
