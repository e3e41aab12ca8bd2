package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.MetaPlacement;
import io.repl.core.metadata.MetadataLayout;
import io.repl.core.replication.Command;
import io.repl.core.replication.CoreActions;
import io.repl.core.replication.CoreConfig;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.DiskIo;
import io.repl.core.replication.ReplicationCore;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.BitmapChunk;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.DiskState;
import io.repl.protocol.Message;
import io.repl.protocol.MessageType;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.SortedMap;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A bitmap too large and too fragmented for one BITMAP chunk (8 GiB, tens of thousands of runs
 * on each side): both nodes must end up resyncing exactly the union. The simulator's small
 * volumes never need a second chunk; this drives two cores over an instant loopback instead.
 */
class LargeBitmapResyncTest {
    private static final long DATA_BYTES = 8L << 30;
    private static final int TASKS_MAX = 50_000_000;

    /** Two cores wired back to back; every action becomes a queued task, I/O completes at once. */
    private static final class Loopback {
        final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
        final Node alpha = new Node(0, "alpha");
        final Node beta = new Node(1, "beta");
        final EnumMap<MessageType, Long> sent = new EnumMap<>(MessageType.class);

        final class Node implements CoreActions {
            final int id;
            final String name;
            final Metadata metadata;
            final ReplicationCore core;
            long bitmapChunksSent;

            Node(int id, String name) {
                this.id = id;
                this.name = name;
                MetadataLayout layout = MetadataLayout.forData(MetaPlacement.EXTERNAL, DATA_BYTES, 4);
                SimMetaDevice device = new SimMetaDevice(layout.areaBlocks());
                try {
                    Metadata.create(device, layout, id, name, new SplittableRandom(id));
                    metadata = Metadata.open(device, layout, name);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                CoreConfig config = CoreConfig.defaults("r0", ReplicationProtocol.C);
                core = new ReplicationCore(config, metadata, this, new SplittableRandom(100 + id));
            }

            Node peer() {
                return this == alpha ? beta : alpha;
            }

            @Override
            public void submitIo(DiskIo io) {
                ByteBuffer read = io.kind() == DiskIo.Kind.READ ? ByteBuffer.allocate(io.length()) : null;
                tasks.add(() -> core.onIoCompleted(io.ioId(), 0, read, 0));
            }

            @Override
            public void send(Message message) {
                sent.merge(message.type(), 1L, Long::sum);
                if (message instanceof BitmapChunk) {
                    bitmapChunksSent++;
                }
                tasks.add(() -> peer().core.onPeerMessage(message, 0));
            }

            @Override
            public void completeRequest(long requestId, int errno) {
            }

            @Override
            public void closeConnection(DisconnectReason reason, String detail) {
                if (reason != DisconnectReason.OPERATOR) {
                    throw new AssertionError(name + " closed the connection: " + detail);
                }
            }

            @Override
            public void armTimer(long deadlineNanos) {
            }

            @Override
            public void runSoon() {
                throw new AssertionError("this test makes no front-end writes");
            }

            @Override
            public void stateChanged(CoreStatus status) {
            }

            @Override
            public void runHook(String hook, SortedMap<String, String> env) {
            }

            @Override
            public void log(String level, String message) {
            }

            @Override
            public void sendToWitness(io.repl.protocol.Message message) {
            }

            @Override
            public void fencePeer(long run, java.util.SortedMap<String, String> env) {
            }

            @Override
            public void commandCompleted(io.repl.core.replication.CommandResult result) {
            }

            @Override
            public void diskDetached() {
            }
        }

        void connect() {
            alpha.core.onPeerConnected("beta", 1, 0);
            beta.core.onPeerConnected("alpha", 0, 0);
            drain();
        }

        void drain() {
            for (int i = 0; i < TASKS_MAX && !tasks.isEmpty(); i++) {
                tasks.poll().run();
            }
            assertTrue(tasks.isEmpty(), "the loopback did not go quiet");
        }

        void disconnect() {
            tasks.clear();
            alpha.core.onPeerDisconnected(0);
            beta.core.onPeerDisconnected(0);
        }
    }

    @Test
    void aFragmentedBitmapIsExchangedInChunksAndTheUnionIsResynced() {
        Loopback loop = new Loopback();
        loop.alpha.core.start(0);
        loop.beta.core.start(0);
        loop.connect();
        assertTrue(loop.alpha.core.onCommand(new Command.NewCurrentUuidClearBitmap(), 0).done());
        loop.drain();
        assertEquals(DiskState.UP_TO_DATE, loop.beta.core.status().disk());
        assertTrue(loop.alpha.core.onCommand(new Command.Disconnect(), 0).done());
        loop.disconnect();
        // An operator's disconnect is a loss without goodbye: alpha is Consistent and needs --force.
        assertEquals(17, loop.alpha.core.onCommand(new Command.Primary(false), 0).exitCode());
        assertTrue(loop.alpha.core.onCommand(new Command.Primary(true), 0).done());

        // Alpha "wrote" every third block of the first 120 000, beta has its own crash extent.
        for (long block = 0; block < 120_000; block += 3) {
            loop.alpha.metadata.bitmap().setBlocks(block, block + 1);
        }
        loop.beta.metadata.bitmap().setBlocks(500_000, 501_024);
        long union = 40_000 + 1_024;

        assertTrue(loop.alpha.core.onCommand(new Command.Connect(false), 0).done());
        loop.connect();
        assertTrue(loop.alpha.bitmapChunksSent > 1, "a bitmap of 80 000 runs needs several chunks");
        CoreStatus target = loop.beta.core.status();
        assertEquals(ReplicationState.ESTABLISHED, target.replication());
        assertEquals(DiskState.UP_TO_DATE, target.disk());
        assertEquals(0, loop.alpha.metadata.bitmap().dirtyBlocks());
        assertEquals(0, loop.beta.metadata.bitmap().dirtyBlocks());
        long requested = loop.sent.getOrDefault(MessageType.RS_REQUEST, 0L);
        assertTrue(requested >= 40_000 && requested <= union, "resync requested " + requested
                + " runs for a union of " + union + " blocks");
    }
}
