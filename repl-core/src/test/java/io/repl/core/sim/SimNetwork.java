package io.repl.core.sim;

import io.repl.protocol.Message;
import java.util.SplittableRandom;

/**
 * The link between the two nodes: at most one connection, FIFO per direction with a random
 * delay (TCP never reorders), dropped by either end, by a fault, or by a partition. Messages of a
 * connection that is gone are never delivered.
 *
 * <p>A partition holds messages per direction, as TCP retransmitting into a black hole does; a
 * one-way partition holds only one direction. An end that closes tells the other end only if
 * its messages get through: behind a one-way partition the other end learns of the loss from
 * its own ping timeout, later, which is exactly the window the failover rules must survive.
 */
final class SimNetwork {
    private final EventQueue events;
    private final SplittableRandom random;
    private final SimNode[] nodes = new SimNode[2];
    private final long[] lastDeliveryNanos = new long[2];
    private final long delayMaxNanos;
    private long connectionId;
    private long nextConnectionId = 1;
    private boolean partitioned;
    /** Which ends still believe in the current connection (a crashed end stops believing). */
    private final boolean[] open = new boolean[2];
    /** Per receiving node: deliveries held back (in order) until released; for scripted tests. */
    private final boolean[] held = new boolean[2];
    private final int[] inFlight = new int[2];
    private final java.util.ArrayDeque<Runnable>[] heldDeliveries = newQueues();
    private final java.util.EnumMap<io.repl.protocol.MessageType, Long> counts =
            new java.util.EnumMap<>(io.repl.protocol.MessageType.class);
    /**
     * A sender's queue above this many bytes not yet delivered (delayed or held) makes its
     * connection unwritable, as Netty's high water mark does; below half of it, writable again.
     */
    private long congestionBytesHigh = Long.MAX_VALUE;
    /** Per sending node: bytes of the current connection not yet delivered. */
    private final long[] bytesFrom = new long[2];
    /**
     * Per sending node: a message that, when that node sends it, is lost with the connection
     * instead of delivered (the link breaks just before it would have arrived), or null.
     */
    private final java.util.function.Predicate<Message>[] cutBefore = newCutters();
    /** Per sending node: whether that cut leaves a partition behind (no reconnect until healed). */
    private final boolean[] cutPartitions = new boolean[2];
    private int cutsBefore;
    /** Per sending node: whether it was told its connection is not writable. */
    private final boolean[] congested = new boolean[2];
    /** The connection {@link #bytesFrom} counts; deliveries of older ones no longer count. */
    private long countedConnectionId;
    /** The most bytes a node had on its way at once, for tests. */
    private final long[] bytesFromMax = new long[2];

    @SuppressWarnings("unchecked")
    private static java.util.ArrayDeque<Runnable>[] newQueues() {
        return new java.util.ArrayDeque[] {new java.util.ArrayDeque<Runnable>(), new java.util.ArrayDeque<Runnable>()};
    }

    @SuppressWarnings("unchecked")
    private static java.util.function.Predicate<Message>[] newCutters() {
        return new java.util.function.Predicate[2];
    }

    /**
     * The next message {@code from} sends that {@code which} accepts is never delivered: the
     * connection breaks instead, as if the link failed just before it arrived; with
     * {@code partition} the link stays down until {@link #partition} heals it. Once only.
     */
    void cutBefore(int from, java.util.function.Predicate<Message> which, boolean partition) {
        cutBefore[from] = which;
        cutPartitions[from] = partition;
    }

    /** How many {@link #cutBefore} cuts happened. */
    int cutsBefore() {
        return cutsBefore;
    }

    /** Whether a {@link #cutBefore} is still waiting for its message. */
    boolean cutPending(int from) {
        return cutBefore[from] != null;
    }

    /** Holds (or releases, in order) every message to {@code node}. */
    void hold(int node, boolean on) {
        held[node] = on;
        if (!on) {
            while (!heldDeliveries[node].isEmpty()) {
                Runnable delivery = heldDeliveries[node].pollFirst();
                long at = Math.max(lastDeliveryNanos[node], events.now() + delay());
                lastDeliveryNanos[node] = at;
                events.at(at, delivery);
            }
        }
    }

    /** Models a send queue with a high water mark of {@code bytes} (Long.MAX_VALUE: never congested). */
    void congestAbove(long bytes) {
        congestionBytesHigh = bytes;
    }

    long congestionBytesHigh() {
        return congestionBytesHigh;
    }

    /** The most bytes node {@code from} had sent and not yet delivered at once. */
    long bytesFromMax(int from) {
        return bytesFromMax[from];
    }

    /** Bytes of a message on the wire: its payload and a fixed allowance for header and fields. */
    static long wireBytes(Message message) {
        if (message instanceof io.repl.protocol.DataWrite d && d.data() != null) {
            return 64L + d.length();
        }
        if (message instanceof io.repl.protocol.ResyncData r && r.data() != null) {
            return 64L + r.data().remaining();
        }
        return 64;
    }

    /** Counts {@code bytes} out of (negative) or into node {@code from}'s queue of connection {@code id}. */
    private void account(int from, long id, long bytes) {
        if (id != countedConnectionId) {
            return;
        }
        bytesFrom[from] += bytes;
        bytesFromMax[from] = Math.max(bytesFromMax[from], bytesFrom[from]);
        boolean nowCongested = congested[from] ? bytesFrom[from] >= congestionBytesHigh / 2
                : bytesFrom[from] > congestionBytesHigh;
        if (nowCongested != congested[from]) {
            congested[from] = nowCongested;
            // Netty tells the handler after the write that crossed the mark: a new event, never
            // a call back into the core that is sending.
            SimNode node = nodes[from];
            events.at(events.now(), () -> {
                if (node.up() && node.connectionId() == id) {
                    node.peerWritable(!nowCongested);
                }
            });
        }
    }

    /** Messages on their way to {@code node} (delayed or held). */
    int inFlightTo(int node) {
        return inFlight[node];
    }

    /** Payload bytes of every RS_DATA sent so far, by both nodes. */
    long resyncBytes() {
        return resyncBytes;
    }

    /** Messages of {@code type} sent so far, by both nodes. */
    long count(io.repl.protocol.MessageType type) {
        return counts.getOrDefault(type, 0L);
    }

    private long resyncBytes;

    SimNetwork(EventQueue events, SplittableRandom random, long delayMaxNanos) {
        this.events = events;
        this.random = random;
        this.delayMaxNanos = delayMaxNanos;
    }

    void attach(SimNode a, SimNode b) {
        nodes[0] = a;
        nodes[1] = b;
    }

    boolean partitioned() {
        return partitioned;
    }

    /** Whether messages from node {@code from} to the other are held. */
    boolean blockedFrom(int from) {
        return held[1 - from];
    }

    /**
     * A one-way partition: messages from {@code from} to the other node are held (and a close
     * by {@code from} goes unnoticed); the other direction still flows.
     */
    void partitionOneWay(int from, boolean on) {
        hold(1 - from, on);
        partitioned = held[0] || held[1];
    }

    boolean connected() {
        return connectionId != 0;
    }

    private long delay() {
        return 20_000 + random.nextLong(delayMaxNanos);
    }

    void send(int from, Message message) {
        int to = 1 - from;
        long id = connectionId;
        if (nodes[from].connectionId() == 0) {
            throw new IllegalStateException("node " + from + " sent " + message.type() + " without a connection");
        }
        if (id == 0 || id != nodes[from].connectionId()) {
            // Sent into a connection the other end (or a fault) already closed: lost.
            return;
        }
        if (cutBefore[from] != null && cutBefore[from].test(message)) {
            cutBefore[from] = null;
            cutsBefore++;
            if (cutPartitions[from] && !partitioned) {
                partition(true, true);
            } else {
                // Already partitioned (a one-way hold, say): partition() would change nothing,
                // and the message would vanish from a connection that stays up. The cut is what
                // the fault promises; the partition in place keeps the link down until it heals.
                cut();
            }
            return;
        }
        counts.merge(message.type(), 1L, Long::sum);
        if (message instanceof io.repl.protocol.ResyncData r) {
            // The range resynced, whether its bytes travel or a zero block stands for them.
            resyncBytes += r.length();
        }
        // What was sent before a close still arrives (before the close is noticed), like TCP.
        inFlight[to]++;
        long bytes = wireBytes(message);
        account(from, id, bytes);
        Runnable delivery = () -> {
            inFlight[to]--;
            account(from, id, -bytes);
            if (nodes[to].up() && nodes[to].connectionId() == id) {
                nodes[to].deliver(message);
            }
        };
        if (held[to]) {
            heldDeliveries[to].addLast(delivery);
            return;
        }
        long at = Math.max(lastDeliveryNanos[to], events.now() + delay());
        lastDeliveryNanos[to] = at;
        events.at(at, delivery);
    }

    /** Connects when both ends want a connection, are up, and no partition separates them. */
    void tryConnect() {
        if (connectionId != 0 || partitioned || held[0] || held[1] || !nodes[0].wantsConnection()
                || !nodes[1].wantsConnection()) {
            return;
        }
        long id = nextConnectionId++;
        connectionId = id;
        countedConnectionId = id;
        bytesFrom[0] = 0;
        bytesFrom[1] = 0;
        congested[0] = false;
        congested[1] = false;
        open[0] = true;
        open[1] = true;
        long at = events.now() + delay();
        lastDeliveryNanos[0] = at;
        lastDeliveryNanos[1] = at;
        events.at(at, () -> {
            if (connectionId != id) {
                return;
            }
            if (!nodes[0].wantsConnection() || !nodes[1].wantsConnection() || partitioned || held[0] || held[1]) {
                // One end changed its mind (or died) while connecting: the attempt fails unseen.
                connectionId = 0;
                open[0] = false;
                open[1] = false;
                return;
            }
            // Both ends learn the same id, even if the first closes it from inside the event.
            nodes[0].connected(nodes[1].name(), 1, id);
            if (nodes[1].up()) {
                nodes[1].connected(nodes[0].name(), 0, id);
                if (connectionId != id && open[1] && !held[1]) {
                    // The first end closed at once (a promotion waiting for the witness).
                    open[1] = false;
                    SimNode second = nodes[1];
                    events.at(Math.max(events.now() + delay(), lastDeliveryNanos[1] + 1), () -> {
                        if (second.up() && second.connectionId() == id) {
                            second.disconnected();
                        }
                    });
                }
            }
        });
    }

    /**
     * Node {@code by} closes: it gets its confirmation; the other end notices a little later, or,
     * if messages from {@code by} are held, only by its own timeout.
     */
    void close(int by) {
        if (open[by]) {
            long id = nodes[by].connectionId();
            open[by] = false;
            if (connectionId == id) {
                connectionId = 0;
            }
            SimNode node = nodes[by];
            events.at(Math.max(events.now() + delay(), lastDeliveryNanos[by] + 1), () -> {
                if (node.up() && node.connectionId() == id && id != 0) {
                    node.disconnected();
                }
            });
            int other = 1 - by;
            if (open[other] && !held[other] && nodes[other].connectionId() == id) {
                open[other] = false;
                SimNode peer = nodes[other];
                events.at(Math.max(events.now() + delay(), lastDeliveryNanos[other] + 1), () -> {
                    if (peer.up() && peer.connectionId() == id) {
                        peer.disconnected();
                    }
                });
            }
            return;
        }
        if (connectionId != 0) {
            drop(by, delay(), delay());
        }
    }

    /** A fault cuts the connection; each end notices after its own delay. */
    void cut() {
        if (connectionId != 0) {
            drop(0, delay(), delay());
        }
    }

    private void drop(int first, long firstDelay, long secondDelay) {
        long id = connectionId;
        connectionId = 0;
        for (int i = 0; i < 2; i++) {
            int end = i == 0 ? first : 1 - first;
            if (!open[end]) {
                continue;
            }
            open[end] = false;
            SimNode node = nodes[end];
            long at = Math.max(events.now() + (i == 0 ? firstDelay : secondDelay), lastDeliveryNanos[end] + 1);
            events.at(at, () -> {
                if (node.up() && node.connectionId() == id) {
                    node.disconnected();
                }
            });
        }
    }

    /** A crashed node's end is gone; the survivor learns it by a reset or by its ping timeout. */
    void crashed(int node, boolean resetSeen) {
        if (connectionId == 0) {
            return;
        }
        open[node] = false;
        if (resetSeen) {
            drop(1 - node, delay(), delay());
        }
    }

    /** The survivor of a crash closes its half-open end. */
    long currentId() {
        return connectionId;
    }

    /** A partition either resets the connection at once or silently eats messages until a timeout. */
    void partition(boolean on, boolean resetSeen) {
        if (on == partitioned) {
            return;
        }
        partitioned = on;
        if (on && resetSeen) {
            cut();
        } else {
            // TCP loses nothing inside a connection: it retransmits until the partition heals
            // or a timeout closes the connection, which is what holding models.
            hold(0, on);
            hold(1, on);
        }
    }
}
