package io.repl.agent.peer;

import static io.repl.agent.peer.Fixture.await;
import static io.repl.agent.peer.Fixture.config;
import static io.repl.agent.peer.Fixture.freePort;
import static io.repl.agent.peer.Fixture.logged;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import io.repl.protocol.FrameHeader;
import io.repl.protocol.WriteAck;
import io.repl.protocol.handshake.HandshakeConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Target R7: wrong secrets, wrong names and bad bytes are refused, and the link carries on. */
@Timeout(60)
class PeerLinkRejectionTest {
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

    private PeerLinkConfig alpha() {
        return config("alpha", "beta", alphaPort, betaPort, true);
    }

    private PeerLinkConfig beta() {
        return config("beta", "alpha", betaPort, alphaPort, true);
    }

    private InetSocketAddress alphaAddress() {
        return new InetSocketAddress("127.0.0.1", alphaPort);
    }

    @Test
    void wrongSharedSecretIsRejectedOnBothSides() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        PeerLink a = start(alpha(), ra);
        PeerLink b = start(beta().withSecret("not-the-secret".getBytes(StandardCharsets.UTF_8)), rb);
        // Several attempts each way, all refused.
        await("both sides refused repeatedly", () -> a.handshakeFailures() >= 3 && b.handshakeFailures() >= 3);
        assertEquals(0, ra.connectedCount(), ra.events.toString());
        assertEquals(0, rb.connectedCount(), rb.events.toString());
        assertTrue(ra.messages.isEmpty() && rb.messages.isEmpty(), "nothing is delivered");
        assertEquals(PeerLink.State.CONNECTING, a.state());
        await("the AUTH_FAILED refusal is logged", () -> logged("AUTH_FAILED"));
    }

    @Test
    void wrongResourceIsRejected() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        PeerLink a = start(alpha(), ra);
        PeerLink b = start(Fixture.withResource(beta(), "r1"), rb);
        await("both sides refused", () -> a.handshakeFailures() >= 2 && b.handshakeFailures() >= 2);
        assertEquals(0, ra.connectedCount() + rb.connectedCount());
        assertTrue(ra.messages.isEmpty() && rb.messages.isEmpty());
        await("the WRONG_RESOURCE refusal is logged", () -> logged("WRONG_RESOURCE"));
    }

    @Test
    void unknownNodeIsRejected() throws Exception {
        Recorder ra = new Recorder();
        PeerLink a = start(alpha(), ra);
        await("listening", () -> a.listenAddress() != null);
        try (RawPeer gamma = RawPeer.connect(alphaAddress())) {
            IOException e = assertThrows(IOException.class,
                    () -> gamma.handshake(HandshakeConfig.of("gamma", "alpha", Fixture.RESOURCE, Fixture.SECRET)));
            assertTrue(e.getMessage().contains("WRONG_PEER"), e.getMessage());
        }
        assertEquals(0, ra.connectedCount());
        await("the WRONG_PEER refusal is logged", () -> logged("WRONG_PEER"));
    }

    /** A header with the right magic and checksum announcing a 2 GiB HELLO. */
    private static byte[] oversizedHeader() {
        ByteBuffer h = ByteBuffer.allocate(FrameHeader.BYTES);
        h.putInt(FrameHeader.MAGIC).putShort((short) 1).putShort((short) 1).putShort((short) 0).putShort((short) 0)
                .putInt(Integer.MAX_VALUE).putInt(0);
        CRC32C crc = new CRC32C();
        crc.update(h.array(), 0, FrameHeader.HEADER_CHECKSUM_OFFSET);
        h.putInt((int) crc.getValue());
        return h.array();
    }

    @Test
    void badBytesCloseThatConnectionAndTheLinkStillAcceptsItsPeer() throws Exception {
        Recorder ra = new Recorder();
        PeerLink a = start(Fixture.withTimeout(alpha(), Duration.ofSeconds(1)), ra);
        await("listening", () -> a.listenAddress() != null);

        try (RawPeer http = RawPeer.connect(alphaAddress())) {
            http.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertTrue(http.awaitClosed(), "a stray client is dropped");
        }
        try (RawPeer big = RawPeer.connect(alphaAddress())) {
            big.sendRaw(oversizedHeader());
            assertTrue(big.awaitClosed(), "an oversized frame is refused before anything is allocated");
        }
        try (RawPeer silent = RawPeer.connect(alphaAddress())) {
            assertTrue(silent.awaitClosed(), "a client that never finishes the handshake is timed out");
        }
        await("three refusals logged", () -> logged("header.magic") && logged("header.bodyLength")
                && logged("handshake not finished"));

        // A scanner hammering the port gets one log line per reason, not one per connection.
        long magicLines = Fixture.logLines().stream().filter(l -> l.contains("header.magic")).count();
        for (int i = 0; i < 20; i++) {
            try (RawPeer scan = RawPeer.connect(alphaAddress())) {
                scan.sendRaw(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00});
                assertTrue(scan.awaitClosed());
            }
        }
        await("all refusals counted", () -> a.handshakeFailures() >= 23);
        assertEquals(magicLines, Fixture.logLines().stream().filter(l -> l.contains("header.magic")).count());

        Recorder rb = new Recorder();
        start(beta(), rb);
        PeerSession sa = ra.awaitConnected();
        rb.awaitConnected().send(new WriteAck(5));
        assertEquals(5, assertInstanceOf(WriteAck.class, ra.awaitMessage()).seq());
        assertTrue(sa.isOpen());
    }
}
