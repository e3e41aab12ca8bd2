package io.repl.agent.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.repl.agent.volume.Volume;
import io.repl.core.replication.CoreConfig;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.io.AlignedBuffers;
import io.repl.io.IoCallback;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The in-flight bounds every NBD session of an export shares: trims, zeroings and flushes count
 * against them as writes do, and a session at the bound hands nothing more to the volume (the
 * requests of a socket read already under way wait in the session) until there is room.
 */
class ExportLoadTest {
    private static final int SIZE = 64 << 20;

    /** A volume that holds every request until the test completes it. */
    private static final class HoldingVolume implements Volume {
        final AlignedBuffers buffers = new AlignedBuffers(4096);
        final List<IoCallback> held = new ArrayList<>();
        int received;

        @Override
        public long size() {
            return SIZE;
        }

        @Override
        public int blockSize() {
            return 4096;
        }

        @Override
        public AlignedBuffers buffers() {
            return buffers;
        }

        @Override
        public void read(long offset, ByteBuffer dst, IoCallback done) {
            hold(done);
        }

        @Override
        public void write(long offset, ByteBuffer src, boolean fua, IoCallback done) {
            hold(done);
        }

        @Override
        public void flush(IoCallback done) {
            hold(done);
        }

        @Override
        public void writeZeroes(long offset, long length, boolean mayUnmap, boolean fastOnly, boolean fua,
                                IoCallback done) {
            hold(done);
        }

        private void hold(IoCallback done) {
            received++;
            held.add(done);
        }

        void completeAll() {
            List<IoCallback> now = new ArrayList<>(held);
            held.clear();
            now.forEach(cb -> cb.complete(0));
        }
    }

    private static final class OneExport implements Export {
        final HoldingVolume volume = new HoldingVolume();
        NbdSession session;

        @Override
        public String name() {
            return "r0";
        }

        @Override
        public Grant open() {
            return Grant.readWrite(volume);
        }

        @Override
        public void sessionOpened(NbdSession s) {
            session = s;
        }

        @Override
        public void sessionClosed(NbdSession s) {
        }
    }

    private static byte[] handshake() {
        byte[] name = "r0".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(64);
        b.putInt(3);
        b.putLong(Nbd.IHAVEOPT).putInt(Nbd.OPT_GO).putInt(4 + name.length + 2).putInt(name.length).put(name)
                .putShort((short) 0);
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    private static ByteBuf requests(int type, int count, long length) {
        ByteBuf b = Unpooled.buffer();
        for (int i = 0; i < count; i++) {
            b.writeInt(Nbd.REQUEST_MAGIC).writeShort(0).writeShort(type).writeLong(100 + i)
                    .writeLong(type == Nbd.CMD_FLUSH ? 0 : (long) i * length).writeInt((int) length);
        }
        return b;
    }

    private static EmbeddedChannel open(OneExport export, ExportLoad load) {
        EmbeddedChannel ch = new EmbeddedChannel(new NbdHandshake(export, load, "test"));
        ch.writeInbound(Unpooled.wrappedBuffer(handshake()));
        ch.runPendingTasks();
        return ch;
    }

    private static int replies(EmbeddedChannel ch) {
        int bytes = 0;
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            bytes += b.readableBytes();
            b.release();
        }
        return bytes;
    }

    @Test
    void trimsCountAsRequestsAndByTheirLength() {
        OneExport export = new OneExport();
        ExportLoad load = new ExportLoad(8, 1 << 20);
        EmbeddedChannel ch = open(export, load);
        replies(ch);

        // Twenty trims of 256 KiB in one socket read: the fourth reaches 1 MiB in flight.
        ch.writeInbound(requests(Nbd.CMD_TRIM, 20, 256 << 10));
        ch.runPendingTasks();
        assertEquals(4, export.volume.received, "trims past the byte bound reached the volume");
        assertTrue(load.paused());
        assertFalse(export.session.reading(), "the session stopped reading its socket");
        assertEquals(16, export.session.deferredRequests());

        // Completions make room; what waited starts in order, never past the bounds.
        int rounds = 0;
        while (export.volume.received < 20) {
            int before = export.volume.received;
            export.volume.completeAll();
            ch.runPendingTasks();
            assertTrue(export.volume.received > before, "room let waiting trims start");
            assertTrue(load.requests() <= 8 && load.bytes() <= 1 << 20, load.requests() + " requests, "
                    + load.bytes() + " bytes in flight");
            assertTrue(rounds++ < 20, "every trim started");
        }
        export.volume.completeAll();
        ch.runPendingTasks();
        assertEquals(20 * 16, replies(ch), "every trim answered");
        assertEquals(0, load.requests());
        assertTrue(export.session.reading());
        assertTrue(load.bytesPeak() <= 1 << 20, "bytes in flight peaked at " + load.bytesPeak());
    }

    @Test
    void zeroingsAndFlushesCountAgainstTheRequestBound() {
        OneExport export = new OneExport();
        ExportLoad load = new ExportLoad(8, 64 << 20);
        EmbeddedChannel ch = open(export, load);
        replies(ch);

        ByteBuf mixed = requests(Nbd.CMD_WRITE_ZEROES, 6, 4096);
        mixed.writeBytes(requests(Nbd.CMD_FLUSH, 6, 0));
        ch.writeInbound(mixed);
        ch.runPendingTasks();
        assertEquals(8, export.volume.received, "the request bound counts zeroings and flushes");
        assertTrue(load.paused());
        assertFalse(export.session.reading());
        assertEquals(4, export.session.deferredRequests());
        assertEquals(8, load.requestsPeak());
    }

    @Test
    void aLargeZeroingCountsItsWholeLength() {
        assertEquals(1L << 30, NbdSession.chargedBytes(new NbdRequest(0, Nbd.CMD_WRITE_ZEROES, 1, 0, 1L << 30)));
        assertEquals(4096, NbdSession.chargedBytes(new NbdRequest(0, Nbd.CMD_TRIM, 1, 0, 4096)));
        assertEquals(0, NbdSession.chargedBytes(new NbdRequest(0, Nbd.CMD_FLUSH, 1, 0, 0)));
    }

    /**
     * The export's bounds keep the replication core's admission queue from ever filling: each
     * request in flight becomes at most one core request per requestBytesMax of its length,
     * and one request may cross the bound.
     */
    @Test
    void theBoundsFitTheCoreQueue() {
        CoreConfig core = CoreConfig.defaults("r0", ReplicationProtocol.A);
        long coreRequestsMax = ExportLoad.REQUESTS_MAX
                + (ExportLoad.BYTES_MAX + Nbd.MAX_PAYLOAD_BYTES) / core.requestBytesMax() + 1;
        assertTrue(coreRequestsMax < core.queuedRequestsMax(), coreRequestsMax + " core requests could wait; the core"
                + " queues " + core.queuedRequestsMax());
    }
}
