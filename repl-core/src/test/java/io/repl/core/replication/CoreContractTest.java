package io.repl.core.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.metadata.MemoryMetaDevice;
import io.repl.core.metadata.MetaPlacement;
import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.MetadataLayout;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.DiskState;
import io.repl.protocol.Message;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** What a driver may rely on and must respect, checked on one core with a recording driver. */
class CoreContractTest {
    private static final long DATA_BYTES = 1 << 20;

    /** Records actions; optionally calls back into the core from inside one (which is forbidden). */
    private static final class Recorder implements CoreActions {
        final List<DiskIo> ios = new ArrayList<>();
        final List<long[]> completions = new ArrayList<>();
        final List<Long> timers = new ArrayList<>();
        /** Times the core asked for onSoon. */
        int soonAsked;
        Metadata metadata;
        ReplicationCore reentrant;

        @Override
        public void submitIo(DiskIo io) {
            ios.add(io);
            if (reentrant != null) {
                reentrant.onIoCompleted(io.ioId(), 0, null, 0);
            }
        }

        @Override
        public void send(Message message) {
        }

        @Override
        public void completeRequest(long requestId, int errno) {
            completions.add(new long[] {requestId, errno});
        }

        @Override
        public void closeConnection(DisconnectReason reason, String detail) {
        }

        @Override
        public void armTimer(long deadlineNanos) {
            timers.add(deadlineNanos);
        }

        @Override
        public void runSoon() {
            soonAsked++;
        }

        @Override
        public void stateChanged(CoreStatus status) {
        }

        @Override
        public void runHook(String name, SortedMap<String, String> env) {
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

    private static ReplicationCore standalonePrimary(Recorder recorder) throws Exception {
        MetadataLayout layout = MetadataLayout.forData(MetaPlacement.EXTERNAL, DATA_BYTES, 4);
        MemoryMetaDevice device = new MemoryMetaDevice(layout.areaBlocks());
        Metadata.create(device, layout, 0, "alpha", new SplittableRandom(1));
        Metadata metadata = Metadata.open(device, layout, "alpha");
        recorder.metadata = metadata;
        CoreConfig config = CoreConfig.defaults("r0", ReplicationProtocol.C);
        ReplicationCore core = new ReplicationCore(config, metadata, recorder, new SplittableRandom(2));
        core.start(0);
        assertTrue(core.onCommand(new Command.Disconnect(), 0).done());
        CommandResult refused = core.onCommand(new Command.Primary(false), 0);
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, refused.exitCode());
        assertTrue(core.onCommand(new Command.Primary(true), 0).done());
        assertEquals(DiskState.UP_TO_DATE, core.status().disk());
        return core;
    }

    @Test
    void aStandaloneWriteIsMarkedAndAcknowledgedOnLocalCompletion() throws Exception {
        Recorder recorder = new Recorder();
        ReplicationCore core = standalonePrimary(recorder);
        ByteBuffer payload = ByteBuffer.allocate(8192);
        core.onRequest(FrontRequest.write(7, 4096, payload, false), 1);
        core.onSoon(1);
        DiskIo write = recorder.ios.get(recorder.ios.size() - 1);
        assertEquals(DiskIo.Kind.WRITE, write.kind());
        assertEquals(4096, write.offset());
        assertEquals(2 * 4096, core.status().outOfSyncBytes(), "marked before the write was submitted");
        assertTrue(recorder.completions.isEmpty());
        core.onIoCompleted(write.ioId(), 0, null, 2);
        assertEquals(List.of(7L, 0L), List.of(recorder.completions.get(0)[0], recorder.completions.get(0)[1]));
    }

    @Test
    void writesToAColdExtentWaitForOnSoonAndShareOneActivityLogTransaction() throws Exception {
        Recorder recorder = new Recorder();
        ReplicationCore core = standalonePrimary(recorder);
        int iosBefore = recorder.ios.size();
        long transactionsBefore = recorder.metadata.activityLog().transactions();
        core.onRequest(FrontRequest.write(1, 0, ByteBuffer.allocate(4096), false), 1);
        assertEquals(1, recorder.soonAsked, "the first write to a cold extent asks for onSoon");
        core.onRequest(FrontRequest.write(2, 8192, ByteBuffer.allocate(4096), false), 1);
        assertEquals(1, recorder.soonAsked, "asked once per batch");
        assertEquals(iosBefore, recorder.ios.size(), "nothing submitted before the batch");
        core.onSoon(2);
        assertEquals(iosBefore + 2, recorder.ios.size());
        assertEquals(List.of(0L, 8192L), List.of(recorder.ios.get(iosBefore).offset(),
                recorder.ios.get(iosBefore + 1).offset()));
        assertEquals(transactionsBefore + 1, recorder.metadata.activityLog().transactions());
        core.onRequest(FrontRequest.write(3, 16384, ByteBuffer.allocate(4096), false), 3);
        assertEquals(iosBefore + 3, recorder.ios.size(), "a hot extent admits at once");
        assertEquals(1, recorder.soonAsked);
    }

    @Test
    void badRequestsAreRefusedWithAnErrno() throws Exception {
        Recorder recorder = new Recorder();
        ReplicationCore core = standalonePrimary(recorder);
        core.onRequest(FrontRequest.write(1, 100, ByteBuffer.allocate(512), false), 1);
        core.onRequest(FrontRequest.write(2, DATA_BYTES, ByteBuffer.allocate(4096), false), 1);
        assertTrue(core.onCommand(new Command.Secondary(false, false), 1).done());
        core.onRequest(FrontRequest.write(3, 0, ByteBuffer.allocate(4096), false), 1);
        assertEquals(Errno.EINVAL, recorder.completions.get(0)[1]);
        assertEquals(Errno.EINVAL, recorder.completions.get(1)[1]);
        assertEquals(Errno.EROFS, recorder.completions.get(2)[1]);
    }

    @Test
    void theTimerIsReArmedOnEveryTick() throws Exception {
        Recorder recorder = new Recorder();
        ReplicationCore core = standalonePrimary(recorder);
        long tick = CoreConfig.defaults("r0", ReplicationProtocol.C).tickNanos();
        core.onTimer(5 * tick);
        assertEquals(6 * tick, recorder.timers.get(recorder.timers.size() - 1));
    }

    @Test
    void callingTheCoreFromInsideAnActionIsRefusedLoudly() throws Exception {
        Recorder recorder = new Recorder();
        ReplicationCore core = standalonePrimary(recorder);
        recorder.reentrant = core;
        core.onRequest(FrontRequest.write(9, 0, ByteBuffer.allocate(4096), false), 1);
        assertThrows(IllegalStateException.class, () -> core.onSoon(1));
    }

    @Test
    void aPeerMayConnectOnlyWhileTheCoreIsConnecting() throws Exception {
        Recorder recorder = new Recorder();
        ReplicationCore core = standalonePrimary(recorder);
        assertEquals(ConnectionState.STAND_ALONE, core.status().connection());
        assertThrows(IllegalStateException.class, () -> core.onPeerConnected("beta", 1, 1));
    }
}
