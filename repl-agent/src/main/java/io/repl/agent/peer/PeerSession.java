package io.repl.agent.peer;

import io.netty.channel.Channel;
import io.netty.util.concurrent.EventExecutor;
import io.repl.core.replication.Liveness;
import io.repl.protocol.DataWrite;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Features;
import io.repl.protocol.Message;
import io.repl.protocol.Ping;
import io.repl.protocol.handshake.HandshakeResult;
import java.net.SocketAddress;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One authenticated connection to the peer, from {@code onConnected} to {@code onDisconnected}.
 * A new connection is a new session: nothing carries over, so a message can never go to the
 * wrong incarnation of the peer.
 *
 * <p>{@link #send} may be called from any thread. Messages are queued and written by one task
 * on the link's event loop, which flushes once for everything queued by then: many small
 * acks in one event-loop turn become one system call. Order is kept per calling thread.
 *
 * <p>With LZ4 agreed, a DATA block of {@link #OFF_LOOP_BYTES_MIN} or more is compressed and
 * framed off the event loop (on {@link Lz4Workers}), so compressing one write overlaps with
 * the loop's other work (the front end, the disk, the acks) instead of adding to it; the
 * queue still writes frames in the order they were sent, holding later ones until an
 * earlier frame is ready. The block stays referenced by the message until then, so its
 * memory cannot go away underneath the compressor.
 *
 * <p>Backpressure is the caller's job: stop sending while {@link #isWritable()} is false and
 * resume on {@code onWritabilityChanged}. The hand-over queue has a hard bound as a safety
 * net; hitting it means the caller ignored backpressure, a bug, so it throws.
 */
public final class PeerSession {
    /** Far above what a caller honouring {@link #isWritable()} ever queues. */
    static final int QUEUED_MESSAGES_MAX = 1 << 16;
    /**
     * DATA blocks from this size on are compressed off the event loop; below it the hand-over
     * costs more than compressing in place (a 64 KiB block takes well under 0.2 ms).
     */
    static final int OFF_LOOP_BYTES_MIN = 64 * 1024;

    private final PeerLink link;
    private final PeerConnection connection;
    private final Channel channel;
    private final HandshakeResult handshake;
    /** Messages, and {@link CompletableFuture}s of frames being encoded off the loop. */
    private final Queue<Object> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final Runnable drainTask = this::drain;
    private volatile boolean ended;
    private volatile long rttNs = -1;
    private Liveness liveness;
    private ScheduledFuture<?> livenessTimer;

    PeerSession(PeerLink link, PeerConnection connection, HandshakeResult handshake) {
        this.link = link;
        this.connection = connection;
        this.channel = connection.channel;
        this.handshake = handshake;
    }

    /**
     * Queues {@code message} for the peer.
     *
     * @return false when the session has ended; the message is dropped (the listener hears
     *     {@code onDisconnected}, so the core knows what was not sent)
     * @throws IllegalStateException when {@link #QUEUED_MESSAGES_MAX} messages wait: the
     *     caller is ignoring {@link #isWritable()}
     */
    public boolean send(Message message) {
        Objects.requireNonNull(message, "message");
        if (ended) {
            return false;
        }
        if (queued.incrementAndGet() > QUEUED_MESSAGES_MAX) {
            queued.decrementAndGet();
            throw new IllegalStateException("peer " + link.resource() + ": " + QUEUED_MESSAGES_MAX
                    + " messages wait to be written; the sender must stop while isWritable() is false");
        }
        if (lz4() && message instanceof DataWrite d && d.data() != null && d.data().remaining() >= OFF_LOOP_BYTES_MIN) {
            CompletableFuture<PeerFrameEncoder.Encoded> frame =
                    Lz4Workers.encode(handshake.wireSettings(), message);
            queue.add(frame);
            frame.whenComplete((f, e) -> scheduleDrain());
        } else {
            queue.add(message);
        }
        scheduleDrain();
        return true;
    }

    private void scheduleDrain() {
        // The flag is cleared before the drain looks at the queue, so a message added (or a
        // frame finished) while the flag is still set is always seen by the drain about to run.
        if (drainScheduled.compareAndSet(false, true)) {
            channel.eventLoop().execute(drainTask);
        }
    }

    private void drain() {
        drainScheduled.set(false);
        boolean open = !ended && channel.isActive();
        Object m;
        while ((m = queue.peek()) != null) {
            if (m instanceof CompletableFuture<?> f) {
                if (!f.isDone()) {
                    break; // written in order: the rest waits for this frame
                }
                try {
                    m = f.join();
                } catch (CompletionException | CancellationException e) {
                    queue.poll();
                    queued.decrementAndGet();
                    if (open) {
                        open = false;
                        close("encoding a frame failed: " + (e.getCause() == null ? e : e.getCause()));
                    }
                    continue;
                }
            }
            queue.poll();
            queued.decrementAndGet();
            if (open) {
                channel.write(m, channel.voidPromise());
            }
        }
        if (open) {
            channel.flush();
        }
    }

    /**
     * Ends the session, telling the peer why with DISCONNECT. The link reconnects after
     * {@code connect-retry} unless it was told to {@link PeerLink#disconnect()}. Use this for
     * stall detection and for verdicts such as split brain.
     */
    public void close(DisconnectReason reason, String detail) {
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(detail, "detail");
        link.closeSession(this, reason, detail);
    }

    /** Ends the session for a local reason (sent to the peer as LOCAL_ERROR). */
    public void close(String reason) {
        close(DisconnectReason.LOCAL_ERROR, reason);
    }

    /** False once {@code onDisconnected} is due or done; sends are then dropped. */
    public boolean isOpen() {
        return !ended;
    }

    /** False while more than the high water mark of bytes waits to be written. */
    public boolean isWritable() {
        return !ended && channel.isWritable();
    }

    /**
     * Bytes written to the connection and not yet taken by the socket: what the high water mark
     * bounds. Messages still in the hand-over queue are not counted yet. Any thread.
     */
    public long pendingOutboundBytes() {
        io.netty.channel.ChannelOutboundBuffer b = channel.unsafe().outboundBuffer();
        return b == null ? 0 : b.totalPendingWriteBytes();
    }

    /**
     * Stops or resumes reading from the peer, for a receiver whose own queue is full. While
     * reading is paused the peer's silence is ours, so liveness does not count it.
     */
    public void setReadable(boolean readable) {
        channel.config().setAutoRead(readable);
    }

    /** The connection number, unique within the link, as in the link's log lines. */
    public long id() {
        return connection.id;
    }

    /** True when this node opened the connection. */
    public boolean outbound() {
        return connection.outbound;
    }

    /** The authenticated peer, the agreed version and features. */
    public HandshakeResult handshake() {
        return handshake;
    }

    /** True when both nodes offered LZ4, so blocks are compressed where that helps. */
    public boolean lz4() {
        return Features.has(handshake.features(), Features.LZ4);
    }

    public SocketAddress localAddress() {
        return channel.localAddress();
    }

    public SocketAddress remoteAddress() {
        return channel.remoteAddress();
    }

    /** The event loop every callback of this session runs on, for callers that must hop to it. */
    public EventExecutor executor() {
        return channel.eventLoop();
    }

    /** Bytes and messages of this session so far. */
    public PeerCounters counters() {
        return connection.counters.snapshot();
    }

    /** The latest PING round trip in nanoseconds, or -1 before the first answer. */
    public long rttNanos() {
        return rttNs;
    }

    @Override
    public String toString() {
        return "PeerSession[" + link.resource() + " #" + connection.id + " " + handshake.peerNode()
                + (ended ? ", ended]" : "]");
    }

    // Everything below runs on the event loop.

    /** Starts PING/timeout bookkeeping; the deciding node pings at once to confirm its choice. */
    void start(long intervalNs, long timeoutNs, boolean pingFirst) {
        long now = System.nanoTime();
        liveness = new Liveness(intervalNs, timeoutNs, now, connection.counters.bytesIn());
        if (pingFirst) {
            channel.writeAndFlush(new Ping(liveness.pingNow(now)), channel.voidPromise());
        }
        arm(now);
    }

    private void arm(long now) {
        long delayNs = Math.max(TimeUnit.MILLISECONDS.toNanos(1), liveness.nextDeadlineNs() - now);
        livenessTimer = channel.eventLoop().schedule(this::tick, delayNs, TimeUnit.NANOSECONDS);
    }

    private void tick() {
        livenessTimer = null;
        if (ended) {
            return;
        }
        long now = System.nanoTime();
        if (!channel.config().isAutoRead()) {
            // While we do not read, what the peer sends waits in the kernel: do not blame the
            // peer for a silence that is ours.
            liveness.heard(now);
            arm(now);
            return;
        }
        switch (liveness.poll(now, connection.counters.bytesIn())) {
            case PING -> channel.writeAndFlush(new Ping(liveness.token()), channel.voidPromise());
            case DEAD -> {
                link.closeSession(this, null, "peer is not answering: nothing received for "
                        + TimeUnit.NANOSECONDS.toMillis(liveness.timeoutNs()) + " ms after PING");
                return;
            }
            default -> {
            }
        }
        arm(now);
    }

    void pingAcked(long token) {
        long now = System.nanoTime();
        liveness.pingAcked(token, now);
        rttNs = liveness.rttNs();
        // The timer waits for the PING's deadline; the answer moves the next PING to one
        // interval from now, so an idle link pings every interval, not every timeout.
        if (!ended && livenessTimer != null && liveness.poll(now, connection.counters.bytesIn())
                == Liveness.Action.NONE) {
            livenessTimer.cancel(false);
            arm(now);
        }
    }

    /** Marks the session over; later sends return false and the timer stops. */
    void end() {
        if (!ended) {
            // What the owner sent before it ended the session goes out now, ahead of the
            // DISCONNECT that follows: a goodbye STATE sent in the same event as the close is
            // worth something only if it arrives.
            drain();
        }
        ended = true;
        if (livenessTimer != null) {
            livenessTimer.cancel(false);
            livenessTimer = null;
        }
        // Messages sent from now on are refused; any still queued by another thread are
        // dropped by the drain already scheduled for them.
    }

    PeerConnection connection() {
        return connection;
    }
}
