package io.repl.core.sim;

import io.repl.protocol.Message;
import io.repl.protocol.WitnessVerdict;
import java.util.SplittableRandom;

/**
 * The two connections between the nodes and the witness. Each is FIFO with a random delay, and
 * either direction can be blocked (a partition, or a one-way one). Messages sent into a blocked
 * direction wait, as TCP retransmits them; a partition that outlasts the detection delay (a ping
 * timeout) breaks the connection and they are lost, so a request may reach the witness and its
 * verdict never come back, which the node's resend on reconnect must survive.
 */
final class SimWitnessNet {
    private static final long DETECT_MIN_NANOS = 100_000_000L;

    private final EventQueue events;
    private final SplittableRandom random;
    private final SimWitness witness;
    private final SimNode[] nodes = new SimNode[2];
    /** Per node: the current connection id (0: none). */
    private final long[] connection = new long[2];
    /** Per node: messages node -> witness blocked, and witness -> node blocked. */
    private final boolean[] toWitnessBlocked = new boolean[2];
    private final boolean[] fromWitnessBlocked = new boolean[2];
    private final long[] lastToWitness = new long[2];
    private final long[] lastFromWitness = new long[2];
    private long nextId = 1;
    private final boolean[] connecting = new boolean[2];
    /** Per node: deliveries held in each direction while it is blocked, in order. */
    @SuppressWarnings("unchecked")
    private final java.util.ArrayDeque<Runnable>[] heldToWitness = new java.util.ArrayDeque[] {
        new java.util.ArrayDeque<Runnable>(), new java.util.ArrayDeque<Runnable>()};
    @SuppressWarnings("unchecked")
    private final java.util.ArrayDeque<Runnable>[] heldFromWitness = new java.util.ArrayDeque[] {
        new java.util.ArrayDeque<Runnable>(), new java.util.ArrayDeque<Runnable>()};

    SimWitnessNet(EventQueue events, SplittableRandom random, SimWitness witness) {
        this.events = events;
        this.random = random;
        this.witness = witness;
    }

    void attach(SimNode a, SimNode b) {
        nodes[0] = a;
        nodes[1] = b;
    }

    private long delay() {
        return 20_000 + random.nextLong(1_000_000);
    }

    boolean blocked(int node) {
        return toWitnessBlocked[node] || fromWitnessBlocked[node];
    }

    boolean connected(int node) {
        return connection[node] != 0;
    }

    /** Blocks (or unblocks) one or both directions between {@code node} and the witness. */
    void partition(int node, boolean toWitness, boolean fromWitness) {
        toWitnessBlocked[node] = toWitness;
        fromWitnessBlocked[node] = fromWitness;
        release(node);
        if ((toWitness || fromWitness) && connection[node] != 0) {
            long id = connection[node];
            // Each end gives up after its own timeout, unless the partition heals first (TCP
            // then recovers what it retransmitted); to the node it is one event.
            events.after(DETECT_MIN_NANOS + random.nextLong(DETECT_MIN_NANOS), () -> {
                if (blocked(node)) {
                    drop(node, id);
                }
            });
        }
    }

    void healAll() {
        for (int node = 0; node < 2; node++) {
            toWitnessBlocked[node] = false;
            fromWitnessBlocked[node] = false;
            release(node);
        }
    }

    /** What waited in a direction that is open again goes on, in order (TCP retransmitted it). */
    private void release(int node) {
        while (!toWitnessBlocked[node] && !heldToWitness[node].isEmpty()) {
            heldToWitness[node].pollFirst().run();
        }
        while (!fromWitnessBlocked[node] && !heldFromWitness[node].isEmpty()) {
            heldFromWitness[node].pollFirst().run();
        }
    }

    /** The witness crashed: both connections end; the nodes notice after a short while. */
    void witnessCrashed() {
        for (int node = 0; node < 2; node++) {
            long id = connection[node];
            int n = node;
            if (id != 0) {
                events.after(delay() + random.nextLong(DETECT_MIN_NANOS), () -> drop(n, id));
            }
        }
    }

    /** A node crashed or restarted: its connection is gone at once for both ends. */
    void nodeGone(int node) {
        connection[node] = 0;
        connecting[node] = false;
        heldToWitness[node].clear();
        heldFromWitness[node].clear();
    }

    private void drop(int node, long id) {
        if (connection[node] != id) {
            return;
        }
        connection[node] = 0;
        heldToWitness[node].clear();
        heldFromWitness[node].clear();
        if (nodes[node].up()) {
            nodes[node].witnessDisconnected();
        }
    }

    /** Connects every node that has no connection, when nothing stands in the way. */
    void tryConnect() {
        for (int node = 0; node < 2; node++) {
            if (connection[node] != 0 || connecting[node] || !nodes[node].up() || !witness.up() || blocked(node)) {
                continue;
            }
            connecting[node] = true;
            int n = node;
            int life = witness.incarnation();
            events.after(delay() + delay(), () -> {
                connecting[n] = false;
                if (!nodes[n].up() || !witness.up() || witness.incarnation() != life || blocked(n)
                        || connection[n] != 0) {
                    return;
                }
                long id = nextId++;
                connection[n] = id;
                lastToWitness[n] = events.now();
                lastFromWitness[n] = events.now();
                nodes[n].witnessConnected();
            });
        }
    }

    /** A node sends to the witness; the witness decides and answers on the same connection. */
    void send(int node, Message message) {
        long id = connection[node];
        if (id == 0) {
            return;
        }
        Runnable toWitness = () -> deliverToWitness(node, id, message);
        if (toWitnessBlocked[node]) {
            heldToWitness[node].addLast(toWitness);
        } else {
            toWitness.run();
        }
    }

    private void deliverToWitness(int node, long id, Message message) {
        int life = witness.incarnation();
        long at = Math.max(lastToWitness[node], events.now() + delay());
        lastToWitness[node] = at;
        events.at(at, () -> {
            if (connection[node] != id || !witness.up() || witness.incarnation() != life) {
                return;
            }
            WitnessVerdict verdict = witness.decide(node, message);
            Runnable back = () -> deliverToNode(node, id, verdict);
            if (fromWitnessBlocked[node]) {
                heldFromWitness[node].addLast(back);
            } else {
                back.run();
            }
        });
    }

    private void deliverToNode(int node, long id, WitnessVerdict verdict) {
        long back = Math.max(lastFromWitness[node], events.now() + delay());
        lastFromWitness[node] = back;
        events.at(back, () -> {
            if (connection[node] == id && nodes[node].up()) {
                nodes[node].witnessMessage(verdict);
            }
        });
    }
}
