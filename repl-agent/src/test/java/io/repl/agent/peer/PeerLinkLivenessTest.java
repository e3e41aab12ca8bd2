package io.repl.agent.peer;

import static io.repl.agent.peer.Fixture.await;
import static io.repl.agent.peer.Fixture.config;
import static io.repl.agent.peer.Fixture.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import io.repl.protocol.DataWrite;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Message;
import io.repl.protocol.Ping;
import io.repl.protocol.WriteAck;
import io.repl.protocol.handshake.HandshakeConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A link against a scripted peer: the peer stops answering, sends garbage inside a session,
 * or plays the deciding node and chooses (or never chooses) a connection.
 */
@Timeout(60)
class PeerLinkLivenessTest {
    private EventLoopGroup group;
    private final List<PeerLink> links = new ArrayList<>();
    private int linkPort;
    private int unusedPort;

    @BeforeEach
    void setUp() throws Exception {
        group = Fixture.group();
        linkPort = freePort();
        unusedPort = freePort();
    }

    @AfterEach
    void tearDown() {
        links.forEach(PeerLink::close);
        group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** A link whose own dials go nowhere, so the scripted peer's connection is the only one. */
    private PeerLink start(String local, String peer, Recorder r, Duration pingInterval, Duration pingTimeout,
                           Duration timeout) throws InterruptedException {
        PeerLinkConfig c = Fixture.withTimeout(config(local, peer, linkPort, unusedPort, false), timeout)
                .withPing(pingInterval, pingTimeout);
        PeerLink link = PeerLink.start(group, c, r);
        links.add(link);
        await("listening", () -> link.listenAddress() != null);
        return link;
    }

    private RawPeer connect() throws IOException {
        return RawPeer.connect(new InetSocketAddress("127.0.0.1", linkPort));
    }

    /** The next message that is not a PING. */
    private static Message nextNonPing(RawPeer p) throws IOException {
        Message m;
        do {
            m = p.receive();
        } while (m instanceof Ping);
        return m;
    }

    @Test
    void aPeerThatStopsAnsweringIsDroppedAfterThePingTimeout() throws Exception {
        Recorder ra = new Recorder();
        PeerLink a = start("alpha", "beta", ra, Duration.ofMillis(100), Duration.ofMillis(300),
                Duration.ofSeconds(3));
        try (RawPeer beta = connect()) {
            beta.handshake(HandshakeConfig.of("beta", "alpha", Fixture.RESOURCE, Fixture.SECRET));
            // alpha decides, so it chooses this connection and confirms it with PING.
            assertInstanceOf(Ping.class, beta.receive());
            ra.awaitConnected();
            // beta now answers nothing, ever.
            String reason = ra.awaitDisconnected();
            assertTrue(reason.contains("not answering"), reason);
            assertTrue(beta.awaitClosed());
        }
        assertEquals(PeerLink.State.CONNECTING, a.state());
    }

    @Test
    void aProtocolErrorInsideTheSessionEndsItAndNamesTheField() throws Exception {
        Recorder ra = new Recorder();
        start("alpha", "beta", ra, Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(3));
        try (RawPeer beta = connect()) {
            beta.handshake(HandshakeConfig.of("beta", "alpha", Fixture.RESOURCE, Fixture.SECRET));
            ra.awaitConnected();
            beta.sendRaw(new byte[] {'R', 'E', 'P', 'X', 0, 1, 0, 6});
            String reason = ra.awaitDisconnected();
            assertTrue(reason.contains("header.magic"), reason);
            Disconnect d = assertInstanceOf(Disconnect.class, nextNonPing(beta));
            assertEquals(DisconnectReason.PROTOCOL_ERROR, d.reason());
            assertTrue(d.detail().contains("header.magic"), d.detail());
        }
    }

    @Test
    void theFollowerWaitsForTheDecidersFirstMessage() throws Exception {
        Recorder rb = new Recorder();
        start("beta", "alpha", rb, Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(10));
        try (RawPeer alpha = connect()) {
            alpha.handshake(HandshakeConfig.of("alpha", "beta", Fixture.RESOURCE, Fixture.SECRET));
            // Authenticated, but beta follows: no session until alpha uses this connection.
            assertEquals(0, rb.connectedCount());

            ByteBuffer block = ByteBuffer.allocate(4096);
            block.putInt(0, 0xCAFE);
            alpha.send(DataWrite.of(9, 8192, block, 0));
            PeerSession sb = rb.awaitConnected();
            DataWrite w = assertInstanceOf(DataWrite.class, rb.awaitMessage());
            assertEquals(9, w.seq());
            assertEquals(0xCAFE, w.data().getInt(0));

            sb.send(new WriteAck(9));
            assertEquals(9, assertInstanceOf(WriteAck.class, nextNonPing(alpha)).seq());
        }
        assertTrue(rb.awaitDisconnected().contains("closed by the peer"));
    }

    @Test
    void aConnectionTheDeciderNeverChoosesIsClosed() throws Exception {
        Recorder rb = new Recorder();
        PeerLink b = start("beta", "alpha", rb, Duration.ofSeconds(10), Duration.ofSeconds(10),
                Duration.ofMillis(500));
        try (RawPeer alpha = connect()) {
            alpha.handshake(HandshakeConfig.of("alpha", "beta", Fixture.RESOURCE, Fixture.SECRET));
            assertTrue(alpha.awaitClosed());
        }
        await("counted", () -> b.handshakeFailures() >= 1);
        assertEquals(0, rb.connectedCount());
        await("the refusal is logged", () -> Fixture.logged("did not choose this connection"));
    }
}
