package io.repl.agent.peer;

import static io.repl.agent.peer.Fixture.await;
import static io.repl.agent.peer.Fixture.config;
import static io.repl.agent.peer.Fixture.freePort;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import io.repl.protocol.DataWrite;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Message;
import io.repl.protocol.WriteAck;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Two real links on 127.0.0.1: sessions, data both ways, the tie-break and reconnecting. */
@Timeout(60)
class PeerLinkTest {
    private static final int MIB = 1 << 20;

    private EventLoopGroup group;
    private final List<PeerLink> links = new ArrayList<>();
    private int alphaPort;
    private int betaPort;

    @BeforeEach
    void setUp() throws Exception {
        group = Fixture.group();
        alphaPort = freePort();
        betaPort = freePort();
    }

    @AfterEach
    void tearDown() {
        links.forEach(PeerLink::close);
        group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private PeerLink start(PeerLinkConfig c, Recorder r) {
        PeerLink link = PeerLink.start(group, c, r);
        links.add(link);
        return link;
    }

    private PeerLinkConfig alpha(boolean lz4) {
        return config("alpha", "beta", alphaPort, betaPort, lz4);
    }

    private PeerLinkConfig beta(boolean lz4) {
        return config("beta", "alpha", betaPort, alphaPort, lz4);
    }

    private static ByteBuffer text(int bytes) {
        byte[] line = "the quick brown fox records this morning's interview at 10:42\n"
                .getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocateDirect(bytes);
        while (b.hasRemaining()) {
            b.put(line, 0, Math.min(line.length, b.remaining()));
        }
        return b.flip();
    }

    private static ByteBuffer random(int bytes, long seed) {
        byte[] a = new byte[bytes];
        new Random(seed).nextBytes(a);
        return ByteBuffer.allocateDirect(bytes).put(a).flip();
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }

    /** Sends a 1 MiB DATA each way and checks what arrives, byte for byte. */
    private void exchange(PeerSession a, Recorder ra, PeerSession b, Recorder rb, ByteBuffer payload)
            throws Exception {
        assertTrue(a.send(DataWrite.of(1, 0, payload.duplicate(), DataWrite.FUA)));
        Message atB = rb.awaitMessage();
        DataWrite dataAtB = assertInstanceOf(DataWrite.class, atB);
        assertEquals(1, dataAtB.seq());
        assertEquals(MIB, dataAtB.length());
        assertArrayEquals(bytes(payload), bytes(dataAtB.data()));

        assertTrue(b.send(DataWrite.of(2, 4096, payload.duplicate(), 0)));
        DataWrite dataAtA = assertInstanceOf(DataWrite.class, ra.awaitMessage());
        assertEquals(4096, dataAtA.offset());
        assertArrayEquals(bytes(payload), bytes(dataAtA.data()));
    }

    @Test
    void exchangesDataBothWaysWithLz4() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        PeerLink a = start(alpha(true), ra);
        PeerLink b = start(beta(true), rb);
        PeerSession sa = ra.awaitConnected();
        PeerSession sb = rb.awaitConnected();
        assertTrue(sa.lz4() && sb.lz4(), "both offered LZ4, so it is agreed");
        assertEquals("beta", sa.handshake().peerNode());
        assertEquals("alpha", sb.handshake().peerNode());
        assertEquals(PeerLink.State.CONNECTED, a.state());
        assertEquals(PeerLink.State.CONNECTED, b.state());

        long before = sa.counters().bytesOut();
        exchange(sa, ra, sb, rb, text(MIB));
        PeerCounters out = sa.counters();
        assertEquals(MIB, out.blockBytesOut());
        assertTrue(out.bytesOut() - before < MIB / 2, "text compresses to less than half on the wire: "
                + out);
        assertEquals(MIB, sb.counters().blockBytesIn());

        // Incompressible data goes raw even with LZ4 agreed, and still arrives intact.
        exchange(sa, ra, sb, rb, random(MIB, 42));
        assertTrue(ra.callbackThreads.stream().allMatch(t -> t == ra.callbackThreads.get(0)),
                "every callback of a link comes on its one event loop thread");
    }

    @Test
    void largeBlocksCompressedOffTheLoopKeepTheirPlaceAmongSmallMessages() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        start(alpha(true), ra);
        start(beta(true), rb);
        PeerSession sa = ra.awaitConnected();
        rb.awaitConnected();
        // Large compressible blocks go to the LZ4 workers, small ones and incompressible ones
        // are framed on the loop; the peer must see them exactly in the order sent.
        int count = 60;
        ByteBuffer[] sent = new ByteBuffer[count];
        for (int i = 0; i < count; i++) {
            int size = switch (i % 3) {
                case 0 -> MIB;
                case 1 -> 4096;
                default -> PeerSession.OFF_LOOP_BYTES_MIN;
            };
            ByteBuffer p = i % 5 == 4 ? random(size, i) : text(size);
            p.put(0, (byte) i);
            sent[i] = p;
            assertTrue(sa.send(DataWrite.of(i + 1, (long) i * MIB, p.duplicate(), 0)));
        }
        for (int i = 0; i < count; i++) {
            DataWrite d = assertInstanceOf(DataWrite.class, rb.awaitMessage());
            assertEquals(i + 1, d.seq(), "frames arrive in the order they were sent");
            assertArrayEquals(bytes(sent[i]), bytes(d.data()));
        }
        assertTrue(sa.counters().bytesOut() < sa.counters().blockBytesOut() / 2, "text went compressed: "
                + sa.counters());
    }

    @Test
    void exchangesDataBothWaysWithoutLz4WhenOneSideDoesNotOfferIt() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        start(alpha(true), ra);
        start(beta(false), rb);
        PeerSession sa = ra.awaitConnected();
        PeerSession sb = rb.awaitConnected();
        assertFalse(sa.lz4() || sb.lz4(), "LZ4 needs both offers");

        long before = sa.counters().bytesOut();
        exchange(sa, ra, sb, rb, text(MIB));
        assertTrue(sa.counters().bytesOut() - before > MIB, "without LZ4 the block goes raw");
    }

    @Test
    void keepsMessageOrderFromManyThreadsPerThread() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        start(alpha(false), ra);
        start(beta(false), rb);
        PeerSession sa = ra.awaitConnected();
        rb.awaitConnected();
        int threads = 4;
        int perThread = 2_000;
        List<Thread> senders = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long base = (long) t * 1_000_000;
            Thread th = new Thread(() -> {
                for (int i = 0; i < perThread; i++) {
                    sa.send(new WriteAck(base + i));
                }
            });
            senders.add(th);
            th.start();
        }
        for (Thread th : senders) {
            th.join();
        }
        long[] next = new long[threads];
        for (int i = 0; i < threads * perThread; i++) {
            long seq = assertInstanceOf(WriteAck.class, rb.awaitMessage()).seq();
            int t = (int) (seq / 1_000_000);
            assertEquals(next[t], seq % 1_000_000, "messages of one thread arrive in the order sent");
            next[t]++;
        }
    }

    @Test
    void simultaneousConnectLeavesExactlyOneSession() throws Exception {
        for (int round = 0; round < 5; round++) {
            try (HeldProxy toAlpha = new HeldProxy(new InetSocketAddress("127.0.0.1", alphaPort));
                 HeldProxy toBeta = new HeldProxy(new InetSocketAddress("127.0.0.1", betaPort))) {
                Recorder ra = new Recorder();
                Recorder rb = new Recorder();
                PeerLink a = PeerLink.create(group, config("alpha", "beta", alphaPort, toBeta.port(), false), ra);
                PeerLink b = PeerLink.create(group, config("beta", "alpha", betaPort, toAlpha.port(), false), rb);
                a.connect();
                b.connect();
                // Both dials are in flight and both nodes listen; release them together.
                await("both nodes dialed", () -> toAlpha.accepted.get() == 1 && toBeta.accepted.get() == 1);
                await("both nodes listen", () -> a.listenAddress() != null && b.listenAddress() != null);
                toAlpha.release();
                toBeta.release();

                PeerSession sa = ra.awaitConnected();
                PeerSession sb = rb.awaitConnected();
                assertNotEquals(sa.outbound(), sb.outbound(), "one node's outbound is the other's inbound");
                sa.send(new WriteAck(round));
                assertEquals(round, assertInstanceOf(WriteAck.class, rb.awaitMessage()).seq());
                sb.send(new WriteAck(round));
                assertEquals(round, assertInstanceOf(WriteAck.class, ra.awaitMessage()).seq());

                await("exactly one connection survives", () -> toAlpha.open.get() + toBeta.open.get() == 1
                        && a.connectionCount() == 1 && b.connectionCount() == 1);
                assertEquals(1, ra.connectedCount(), "round " + round + ": " + ra.events);
                assertEquals(1, rb.connectedCount(), "round " + round + ": " + rb.events);
                assertTrue(ra.disconnected.isEmpty() && rb.disconnected.isEmpty(), ra.events + " " + rb.events);

                a.close();
                b.close();
                assertEquals(PeerLink.State.STAND_ALONE, a.state());
                assertEquals(PeerLink.State.STAND_ALONE, b.state());
            }
        }
    }

    @Test
    void reconnectsAfterThePeerClosesTheSession() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        start(alpha(false), ra);
        start(beta(false), rb);
        ra.awaitConnected();
        PeerSession sb = rb.awaitConnected();

        sb.close(DisconnectReason.LOCAL_ERROR, "stall detected by the core");
        assertTrue(rb.awaitDisconnected().contains("stall detected"));
        String atAlpha = ra.awaitDisconnected();
        assertTrue(atAlpha.contains("LOCAL_ERROR") && atAlpha.contains("stall detected"), atAlpha);
        assertFalse(sb.send(new WriteAck(1)), "an ended session drops sends");

        PeerSession sa2 = ra.awaitConnected();
        PeerSession sb2 = rb.awaitConnected();
        sa2.send(new WriteAck(7));
        assertEquals(7, assertInstanceOf(WriteAck.class, rb.awaitMessage()).seq());
        assertNotEquals(sb.id(), sb2.id());
    }

    @Test
    void reconnectsAfterThePeerRestarts() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        PeerLink a = start(alpha(true), ra);
        PeerLink b = start(beta(true), rb);
        ra.awaitConnected();
        rb.awaitConnected();

        b.close();
        links.remove(b);
        assertTrue(ra.awaitDisconnected().contains("SHUTDOWN"));
        assertEquals(PeerLink.State.CONNECTING, a.state());
        // The peer's DISCONNECT is delivered before the session ends.
        assertEquals(DisconnectReason.SHUTDOWN,
                assertInstanceOf(io.repl.protocol.Disconnect.class, ra.awaitMessage()).reason());

        Recorder rb2 = new Recorder();
        start(beta(true), rb2);
        PeerSession sa = ra.awaitConnected();
        PeerSession sb = rb2.awaitConnected();
        sb.send(new WriteAck(3));
        assertEquals(3, assertInstanceOf(WriteAck.class, ra.awaitMessage()).seq());
        assertEquals(2, ra.connectedCount());
        assertTrue(sa.isOpen());
    }

    @Test
    void disconnectGoesStandAloneAndConnectResumes() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        PeerLink a = start(alpha(false), ra);
        start(beta(false), rb);
        ra.awaitConnected();
        rb.awaitConnected();

        a.disconnect().get();
        assertEquals(PeerLink.State.STAND_ALONE, a.state());
        assertEquals(null, a.listenAddress());
        assertTrue(rb.awaitDisconnected().contains("OPERATOR"));

        a.connect();
        ra.awaitConnected();
        rb.awaitConnected();
    }

    @Test
    void keepsAnAnsweringPeerAlive() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        start(alpha(false).withPing(java.time.Duration.ofMillis(20), java.time.Duration.ofSeconds(5)), ra);
        start(beta(false).withPing(java.time.Duration.ofMillis(20), java.time.Duration.ofSeconds(5)), rb);
        PeerSession sa = ra.awaitConnected();
        rb.awaitConnected();
        // Idle: only PING and PING_ACK flow. Many of them, and the session stays up.
        await("many pings answered", () -> sa.counters().messagesIn() >= 20 && sa.rttNanos() >= 0);
        assertTrue(ra.disconnected.isEmpty(), ra.events.toString());
        assertTrue(ra.messages.isEmpty(), "PING and PING_ACK are not delivered");
    }

    @Test
    void signalsBackpressureWhenThePeerStopsReading() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        start(alpha(false), ra);
        start(beta(false), rb);
        PeerSession sa = ra.awaitConnected();
        PeerSession sb = rb.awaitConnected();
        sb.setReadable(false);

        // One direct block, sent again and again by reference: no copies pile up.
        ByteBuffer block = ByteBuffer.allocateDirect(MIB);
        int sent = 0;
        while (sa.isWritable()) {
            assertTrue(sent < 512, "the socket buffers should have filled long ago");
            sa.send(DataWrite.of(sent, (long) sent * MIB, block.duplicate(), 0));
            sent++;
            int queued = sent;
            await("handed to the encoder", () -> sa.counters().messagesOut() >= queued);
        }
        assertFalse(ra.awaitWritability(), "the listener hears that the session is full");

        sb.setReadable(true);
        assertTrue(ra.awaitWritability(), "and that it drained");
        for (int i = 0; i < sent; i++) {
            assertEquals(i, assertInstanceOf(DataWrite.class, rb.awaitMessage()).seq());
        }
        assertTrue(ra.disconnected.isEmpty() && rb.disconnected.isEmpty(), ra.events + " " + rb.events);
    }
}
