package io.repl.agent.witness;

import static io.repl.agent.witness.WitnessFixture.await;
import static io.repl.agent.witness.WitnessFixture.awaitLogged;
import static io.repl.agent.witness.WitnessFixture.inSync;
import static io.repl.agent.witness.WitnessFixture.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.repl.core.witness.WitnessRecord;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.DiskState;
import io.repl.protocol.Message;
import io.repl.protocol.PeerState;
import io.repl.protocol.Role;
import io.repl.protocol.WitnessRequest;
import io.repl.protocol.WitnessVerdict;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A node's {@link WitnessLink} against a real {@link WitnessServer} over loopback. */
@Timeout(60)
class WitnessLinkTest {
    private static final long G1 = 0x1111_0000_0000_0001L;
    private static final long G2 = 0x2222_0000_0000_0002L;
    private static final long G3 = 0x3333_0000_0000_0003L;

    @TempDir
    Path dir;
    private EventLoopGroup group;
    private int port;
    private WitnessServer server;
    private final List<WitnessLink> links = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        group = WitnessFixture.group();
        WitnessFixture.logLines().clear();
        port = WitnessFixture.freePort();
        WitnessFixture.write(conf(), "r0", WitnessFixture.pairToml(port));
    }

    @AfterEach
    void tearDown() {
        links.forEach(WitnessLink::close);
        if (server != null) {
            server.close();
        }
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private Path conf() {
        return dir.resolve("conf");
    }

    private Path state() {
        return dir.resolve("state");
    }

    private WitnessServer startServer() throws Exception {
        server = WitnessServer.start(group, conf(), state());
        return server;
    }

    private WitnessLink link(WitnessLinkConfig config, WitnessLink.Listener listener) {
        return link(config, listener, group.next());
    }

    private WitnessLink link(WitnessLinkConfig config, WitnessLink.Listener listener, EventLoop loop) {
        WitnessLink l = WitnessLink.start(loop, config, listener);
        links.add(l);
        return l;
    }

    /** Both nodes connected and the record at G1, held by both. */
    private void pairInSync(WitnessLink alpha, WitnessFixture.Recorder ra, WitnessLink beta,
                            WitnessFixture.Recorder rb) throws Exception {
        ra.awaitConnections(1);
        rb.awaitConnections(1);
        alpha.send(inSync(G1));
        WitnessVerdict first = ra.awaitVerdict();
        assertEquals(WitnessVerdict.Outcome.IGNORED, first.outcome(), first.detail());
        assertTrue(first.detail().contains("waiting for the other node"), first.detail());
        beta.send(inSync(G1));
        WitnessVerdict second = rb.awaitVerdict();
        assertEquals(WitnessVerdict.Outcome.GRANTED, second.outcome(), second.detail());
        assertEquals(G1, second.generation());
        assertEquals(0b11, second.holders());
        // Alpha, whose report only waited, hears that the record changed.
        WitnessVerdict notice = ra.awaitVerdict();
        assertEquals(0, notice.requestId());
        assertEquals(0b11, notice.holders(), notice.detail());
        assertTrue(notice.detail().startsWith("record now 1111000000000001 held by alpha and beta"), notice.detail());
    }

    @Test
    void reportsFromBothNodesCreateTheRecord() throws Exception {
        startServer();
        WitnessFixture.Recorder ra = new WitnessFixture.Recorder();
        WitnessFixture.Recorder rb = new WitnessFixture.Recorder();
        WitnessLink alpha = link(WitnessFixture.link("r0", "alpha", port), ra);
        WitnessLink beta = link(WitnessFixture.link("r0", "beta", port), rb);
        pairInSync(alpha, ra, beta, rb);
        assertTrue(alpha.connected() && beta.connected());
        assertEquals(new WitnessRecord(G1, 0b11, List.of(), false),
                FileWitnessStore.open(state().resolve("witness")).load("r0"), "stored before the answer");
        awaitLogged("witness r0: beta REPORT " + "1111000000000001", "GRANTED", "record now 1111000000000001 held by "
                + "alpha and beta");
    }

    @Test
    void anOutdatePeerRequestIsGrantedToAHolderThroughTheListener() throws Exception {
        startServer();
        WitnessFixture.Recorder ra = new WitnessFixture.Recorder();
        WitnessFixture.Recorder rb = new WitnessFixture.Recorder();
        EventLoop alphaLoop = group.next();
        WitnessLink alpha = link(WitnessFixture.link("r0", "alpha", port), ra, alphaLoop);
        WitnessLink beta = link(WitnessFixture.link("r0", "beta", port), rb);
        pairInSync(alpha, ra, beta, rb);

        alpha.send(request(7, WitnessRequest.Kind.OUTDATE_PEER, G1, G2));
        WitnessVerdict granted = ra.awaitVerdict();
        assertEquals(7, granted.requestId());
        assertEquals(WitnessVerdict.Outcome.GRANTED, granted.outcome(), granted.detail());
        assertEquals(G2, granted.generation());
        assertEquals(0b01, granted.holders(), "alpha (node id 0) alone");
        awaitLogged("witness r0: alpha OUTDATE_PEER 1111000000000001->2222000000000002", ": GRANTED (");
        WitnessVerdict notice = rb.awaitVerdict();
        assertEquals(0, notice.requestId(), "beta hears that the record changed");
        assertEquals(0b01, notice.holders(), notice.detail());

        beta.send(request(1, WitnessRequest.Kind.PROMOTE, G1, G3));
        WitnessVerdict deposed = rb.awaitVerdict();
        assertEquals(WitnessVerdict.Outcome.DEPOSED, deposed.outcome(), deposed.detail());
        assertEquals(G2, deposed.generation());

        Thread loopThread = alphaLoop.submit(Thread::currentThread).get();
        assertTrue(ra.threads.stream().allMatch(t -> t == loopThread), "every call on the link's loop: " + ra.threads);
    }

    @Test
    void anIdleSessionThatHeardTheWitnessStillPingsAndIsNeverDropped() throws Exception {
        startServer();
        WitnessFixture.Recorder r = new WitnessFixture.Recorder();
        WitnessLink alpha = link(WitnessFixture.link("r0", "alpha", port), r);
        r.awaitConnections(1);
        // The witness's answer is the last thing that moves on this session: the node must
        // still ping, because the witness drops a node it has not heard from for 1 s.
        alpha.send(inSync(G1));
        r.awaitVerdict();
        Thread.sleep(4_000);
        assertEquals(0, r.count("disconnected"), "the session stayed up: " + r.events);
        assertTrue(alpha.connected());
    }

    @Test
    void aWrongSecretIsRefusedAndTheLinkNeverConnects() throws Exception {
        startServer();
        WitnessFixture.Recorder r = new WitnessFixture.Recorder();
        WitnessLink alpha = link(WitnessFixture.link("r0", "alpha", port, "not-the-secret",
                Duration.ofMillis(500)), r);
        awaitLogged("witness: connection alpha", "closed before authentication: AUTH_FAILED");
        awaitLogged("witness link r0: handshake with the witness", "AUTH_FAILED");
        assertEquals(0, r.count("connected"), r.events.toString());
        assertFalse(alpha.connected());
        alpha.send(inSync(G1)); // dropped, not thrown
    }

    @Test
    void aNodeThatIsNotInTheResourceIsRefused() throws Exception {
        startServer();
        WitnessFixture.Recorder r = new WitnessFixture.Recorder();
        WitnessLink gamma = link(WitnessFixture.link("r0", "gamma", port), r);
        awaitLogged("witness: connection", "closed before authentication: WRONG_RESOURCE", "'r0'", "'gamma'");
        awaitLogged("witness link r0: handshake with the witness", "WRONG_RESOURCE");
        assertEquals(0, r.count("connected"), r.events.toString());
        assertFalse(gamma.connected());
    }

    @Test
    void theLinkReconnectsAfterARestartAndTheRecordSurvivesIt() throws Exception {
        startServer();
        WitnessFixture.Recorder ra = new WitnessFixture.Recorder();
        WitnessFixture.Recorder rb = new WitnessFixture.Recorder();
        WitnessLink alpha = link(WitnessFixture.link("r0", "alpha", port), ra);
        WitnessLink beta = link(WitnessFixture.link("r0", "beta", port), rb);
        pairInSync(alpha, ra, beta, rb);
        alpha.send(request(7, WitnessRequest.Kind.OUTDATE_PEER, G1, G2));
        assertEquals(WitnessVerdict.Outcome.GRANTED, ra.awaitVerdict().outcome());

        server.close();
        ra.awaitDisconnections(1);
        rb.awaitDisconnections(1);
        assertTrue(ra.events.get(ra.events.size() - 1).contains("SHUTDOWN"), ra.events.toString());
        ra.messages.clear();
        rb.messages.clear();
        startServer();
        ra.awaitConnections(2);
        rb.awaitConnections(2);

        alpha.send(request(7, WitnessRequest.Kind.OUTDATE_PEER, G1, G2));
        WitnessVerdict again = ra.awaitVerdict();
        assertEquals(WitnessVerdict.Outcome.GRANTED, again.outcome(), again.detail());
        assertTrue(again.detail().contains("already"), again.detail());
        beta.send(request(1, WitnessRequest.Kind.OUTDATE_PEER, G1, G3));
        assertEquals(WitnessVerdict.Outcome.DEPOSED, rb.awaitVerdict().outcome());
    }

    @Test
    void closeEndsTheSessionOnceAndIsIdempotent() throws Exception {
        startServer();
        WitnessFixture.Recorder r = new WitnessFixture.Recorder();
        WitnessLink alpha = link(WitnessFixture.link("r0", "alpha", port), r);
        r.awaitConnections(1);
        alpha.close();
        alpha.close();
        assertEquals(List.of("connected", "disconnected: the link is closing"), r.events);
        assertFalse(alpha.connected());
        awaitLogged("witness r0: session of alpha", "ended: alpha sent DISCONNECT: SHUTDOWN");
    }

    @Test
    void closeOnTheLoopIsRefused() throws Exception {
        EventLoop loop = group.next();
        WitnessLink l = link(WitnessFixture.link("r0", "alpha", port), new WitnessFixture.Recorder(), loop);
        Throwable thrown = loop.submit(() -> assertThrows(IllegalStateException.class, l::close)).get();
        assertTrue(thrown.getMessage().contains("event loop"), thrown.getMessage());
    }

    @Test
    void aLinkKeepsDialingAWitnessThatIsNotThereYet() throws Exception {
        WitnessFixture.Recorder r = new WitnessFixture.Recorder();
        link(WitnessFixture.link("r0", "alpha", port), r);
        awaitLogged("witness link r0: cannot connect to the witness at 127.0.0.1:" + port);
        startServer();
        r.awaitConnections(1);
    }

    @Test
    void aSessionWithPingsStaysUpWhileASilentOneIsDropped() throws Exception {
        startServer();
        WitnessFixture.Recorder talker = new WitnessFixture.Recorder();
        WitnessFixture.Recorder mute = new WitnessFixture.Recorder();
        link(WitnessFixture.link("r0", "alpha", port), talker);
        // Pings only after a minute: to the witness (limit 1 s) it is silent.
        link(WitnessFixture.link("r0", "beta", port, WitnessFixture.SECRET, Duration.ofMinutes(1)), mute);
        talker.awaitConnections(1);
        mute.awaitDisconnections(2);
        awaitLogged("witness r0: session of beta", "ended: beta sent nothing for 1000 ms");
        assertEquals(1, talker.count("connected"), talker.events.toString());
        assertEquals(0, talker.count("disconnected"), talker.events.toString());
    }

    @Test
    void aMessageTheWitnessDoesNotTakeEndsTheSessionAsAProtocolError() throws Exception {
        startServer();
        WitnessFixture.Recorder r = new WitnessFixture.Recorder();
        WitnessLink alpha = link(WitnessFixture.link("r0", "alpha", port), r);
        r.awaitConnections(1);
        alpha.send(new PeerState(Role.PRIMARY, DiskState.UP_TO_DATE, 0));
        Message m = r.awaitMessage();
        assertTrue(m instanceof Disconnect d && d.reason() == DisconnectReason.PROTOCOL_ERROR, String.valueOf(m));
        r.awaitDisconnections(1);
        awaitLogged("witness r0: closing the session of alpha", "protocol error: STATE is not a message for the "
                + "witness");
        r.awaitConnections(2);
        await("the link is back", alpha::connected);
    }
}
