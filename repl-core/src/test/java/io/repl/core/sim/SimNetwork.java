package io.repl.core.sim;

import io.repl.protocol.Message;
import java.util.SplittableRandom;

/**
 * The link between the two nodes: at most one connection, FIFO per direction with a random
 * delay (TCP never reorders), dropped by either end, by a fault, or by a partition. Messages of a
 * connection that is gone are never delivered.
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

    @SuppressWarnings("unchecked")
    private static java.util.ArrayDeque<Runnable>[] newQueues() {
        return new java.util.ArrayDeque[] {new java.util.ArrayDeque<Runnable>(), new java.util.ArrayDeque<Runnable>()};
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

    /** Messages on their way to {@code node} (delayed or held). */
    int inFlightTo(int node) {
        return inFlight[node];
    }

    /** Messages of {@code type} sent so far, by both nodes. */
    long count(io.repl.protocol.MessageType type) {
        return counts.getOrDefault(type, 0L);
    }

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
        counts.merge(message.type(), 1L, Long::sum);
        // What was sent before a close still arrives (before the close is noticed), like TCP.
        inFlight[to]++;
        Runnable delivery = () -> {
            inFlight[to]--;
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
        if (connectionId != 0 || partitioned || !nodes[0].wantsConnection() || !nodes[1].wantsConnection()) {
            return;
        }
        long id = nextConnectionId++;
        connectionId = id;
        open[0] = true;
        open[1] = true;
        long at = events.now() + delay();
        lastDeliveryNanos[0] = at;
        lastDeliveryNanos[1] = at;
        events.at(at, () -> {
            if (connectionId != id) {
                return;
            }
            if (!nodes[0].wantsConnection() || !nodes[1].wantsConnection() || partitioned) {
                // One end changed its mind (or died) while connecting: the attempt fails unseen.
                connectionId = 0;
                open[0] = false;
                open[1] = false;
                return;
            }
            nodes[0].connected(nodes[1].name(), 1);
            nodes[1].connected(nodes[0].name(), 0);
        });
    }

    /** Node {@code by} closes: it gets its confirmation, the other end notices a little later. */
    void close(int by) {
        if (connectionId == 0) {
            return;
        }
        drop(by, delay(), delay());
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
