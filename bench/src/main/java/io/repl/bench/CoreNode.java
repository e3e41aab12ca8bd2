package io.repl.bench;

import io.repl.core.metadata.DiscardingMetaDevice;
import io.repl.core.metadata.MetaPlacement;
import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.MetadataLayout;
import io.repl.core.replication.Command;
import io.repl.core.replication.CommandResult;
import io.repl.core.replication.CoreActions;
import io.repl.core.replication.CoreConfig;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.DiskIo;
import io.repl.core.replication.ReplicationCore;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.protocol.Barrier;
import io.repl.protocol.BarrierAck;
import io.repl.protocol.DataWrite;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Message;
import io.repl.protocol.WriteAck;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.SortedMap;
import java.util.SplittableRandom;

/**
 * One replication core with a driver that only remembers the last action of each kind, so a
 * benchmark can answer it by hand: nothing is queued, copied or allocated per action. While
 * {@link #relayTo} names a peer (during setup) messages go to that core instead, through a task
 * queue, as the simulator would deliver them.
 *
 * <p>The metadata device discards its writes: what is measured is the core's CPU, and a
 * metadata write in the agent is a synchronous disk write that this would not represent anyway.
 */
final class CoreNode implements CoreActions {
    final String name;
    final ReplicationCore core;
    final Metadata metadata;

    /** Setup only: where sent messages go, and the tasks that deliver them. */
    private CoreNode relayTo;
    private ArrayDeque<Runnable> tasks;

    DiskIo lastIo;
    DataWrite lastData;
    WriteAck lastWriteAck;
    Barrier lastBarrier;
    BarrierAck lastBarrierAck;
    long lastCompletedId = -1;
    int lastCompletedErrno = -1;
    long otherSends;
    /** The core asked for {@link ReplicationCore#onSoon}, not called yet. */
    private boolean soonAsked;
    /** Set once setup is over: from then on a warning or error fails the benchmark. */
    private boolean measuring;

    CoreNode(int nodeId, String name, long dataBytes) {
        this.name = name;
        MetadataLayout layout = MetadataLayout.forData(MetaPlacement.EXTERNAL, dataBytes, 4);
        try {
            metadata = Metadata.create(new DiscardingMetaDevice(layout.areaBlocks()), layout, nodeId, name,
                    new SplittableRandom(nodeId));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        core = new ReplicationCore(CoreConfig.defaults("r0", ReplicationProtocol.C), metadata, this,
                new SplittableRandom(100 + nodeId));
        core.start(0);
    }

    /**
     * Two fresh nodes, connected and declared identical ({@code new-current-uuid --clear-bitmap}),
     * {@code primary} promoted: an Established protocol C pair with nothing to resync.
     */
    static CoreNode[] establishedPair(long dataBytes) {
        CoreNode primary = new CoreNode(0, "alpha", dataBytes);
        CoreNode secondary = new CoreNode(1, "beta", dataBytes);
        ArrayDeque<Runnable> tasks = new ArrayDeque<>();
        primary.relayTo = secondary;
        secondary.relayTo = primary;
        primary.tasks = tasks;
        secondary.tasks = tasks;
        primary.core.onPeerConnected("beta", 1, 0);
        secondary.core.onPeerConnected("alpha", 0, 0);
        drain(tasks);
        expectDone(primary.core.onCommand(new Command.NewCurrentUuidClearBitmap(), 0));
        drain(tasks);
        // A connected promotion completes once the peer has seen it: the status below checks it.
        CommandResult promoted = primary.core.onCommand(new Command.Primary(false), 0);
        if (!promoted.isPending()) {
            expectDone(promoted);
        }
        drain(tasks);
        primary.relayTo = null;
        secondary.relayTo = null;
        expectStatus(primary, "Primary/UpToDate Connected/Established peer Secondary/UpToDate oos=0");
        expectStatus(secondary, "Secondary/UpToDate Connected/Established peer Primary/UpToDate oos=0");
        primary.measuring = true;
        secondary.measuring = true;
        return new CoreNode[] {primary, secondary};
    }

    /** A node alone (disconnected by the operator) and promoted with --force: a standalone Primary. */
    static CoreNode standalonePrimary(long dataBytes) {
        CoreNode node = new CoreNode(0, "alpha", dataBytes);
        expectDone(node.core.onCommand(new Command.Disconnect(), 0));
        expectDone(node.core.onCommand(new Command.Primary(true), 0));
        expectStatus(node, "Primary/UpToDate StandAlone/Off peer -/- oos=0");
        node.measuring = true;
        return node;
    }

    private static void drain(ArrayDeque<Runnable> tasks) {
        for (int i = 0; i < 1_000_000 && !tasks.isEmpty(); i++) {
            tasks.poll().run();
        }
        if (!tasks.isEmpty()) {
            throw new IllegalStateException("the pair did not go quiet during setup");
        }
    }

    private static void expectDone(CommandResult result) {
        if (!result.done()) {
            throw new IllegalStateException("setup command refused: " + result.reason());
        }
    }

    private static void expectStatus(CoreNode node, String expected) {
        String actual = node.core.status().toString();
        if (!actual.equals(expected)) {
            throw new IllegalStateException(node.name + " is " + actual + " after setup, expected " + expected);
        }
    }

    /**
     * The data write the last event submitted, after what the activity log asked for first: the
     * batch's {@link ReplicationCore#onSoon} for a write to a cold extent, and the flush that lets
     * an extent be evicted (only once the writes in it are durable).
     */
    DiskIo takeWrite(long nowNanos) {
        for (int step = 0; step < 4; step++) {
            if (soonAsked) {
                soonAsked = false;
                core.onSoon(nowNanos);
            } else if (lastIo != null && lastIo.kind() == DiskIo.Kind.FLUSH) {
                DiskIo flush = lastIo;
                lastIo = null;
                core.onIoCompleted(flush.ioId(), 0, null, nowNanos);
            } else {
                break;
            }
        }
        DiskIo io = lastIo;
        lastIo = null;
        if (io == null || io.kind() != DiskIo.Kind.WRITE) {
            throw new IllegalStateException(name + " submitted " + io + " where a data write was due");
        }
        return io;
    }

    /** Fails the benchmark unless the last completion was {@code requestId}, successful. */
    void expectCompleted(long requestId) {
        if (lastCompletedId != requestId || lastCompletedErrno != 0) {
            throw new IllegalStateException(name + ": request " + requestId + " not completed (last completion "
                    + lastCompletedId + ", errno " + lastCompletedErrno + ")");
        }
    }

    @Override
    public void submitIo(DiskIo io) {
        if (relayTo != null) {
            tasks.add(() -> core.onIoCompleted(io.ioId(), 0, null, 0));
        } else {
            lastIo = io;
        }
    }

    @Override
    public void send(Message message) {
        if (relayTo != null) {
            CoreNode peer = relayTo;
            tasks.add(() -> peer.core.onPeerMessage(message, 0));
        } else if (message instanceof DataWrite data) {
            lastData = data;
        } else if (message instanceof WriteAck ack) {
            lastWriteAck = ack;
        } else if (message instanceof Barrier barrier) {
            lastBarrier = barrier;
        } else if (message instanceof BarrierAck ack) {
            lastBarrierAck = ack;
        } else {
            otherSends++;
        }
    }

    @Override
    public void completeRequest(long requestId, int errno) {
        lastCompletedId = requestId;
        lastCompletedErrno = errno;
    }

    @Override
    public void closeConnection(DisconnectReason reason, String detail) {
        throw new IllegalStateException(name + " closed the connection (" + reason + "): " + detail);
    }

    @Override
    public void armTimer(long deadlineNanos) {
    }

    @Override
    public void runSoon() {
        if (relayTo != null) {
            tasks.add(() -> core.onSoon(0));
        } else {
            soonAsked = true;
        }
    }

    @Override
    public void stateChanged(CoreStatus status) {
    }

    @Override
    public void runHook(String hook, SortedMap<String, String> env) {
    }

    @Override
    public void log(String level, String message) {
        if (measuring && !"info".equals(level)) {
            throw new IllegalStateException(name + " logged " + level + ": " + message);
        }
    }

    @Override
    public void sendToWitness(Message message) {
    }

    @Override
    public void fencePeer(long run, SortedMap<String, String> env) {
        throw new IllegalStateException(name + " asked to fence its peer");
    }

    @Override
    public void commandCompleted(CommandResult result) {
    }

    @Override
    public void diskDetached() {
        throw new IllegalStateException(name + " detached its disk");
    }
}
