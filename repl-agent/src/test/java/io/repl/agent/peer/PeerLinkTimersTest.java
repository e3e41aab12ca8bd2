package io.repl.agent.peer;

import static io.repl.agent.peer.Fixture.await;
import static io.repl.agent.peer.Fixture.config;
import static io.repl.agent.peer.Fixture.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code [net] connect-retry} and {@code timeout} are what the link waits, not constants of its own. */
@Timeout(60)
class PeerLinkTimersTest {
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
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private PeerLink alpha(Duration connectRetry, Duration timeout) {
        PeerLinkConfig c = config("alpha", "beta", alphaPort, betaPort, false);
        PeerLink link = PeerLink.start(group, new PeerLinkConfig(c.resource(), c.localNode(), c.peerNode(),
                c.listenAddress(), c.peerAddress(), c.sharedSecret(), c.lz4(), c.pingInterval(), c.pingTimeout(),
                connectRetry, timeout, c.writeBufferLowBytes(), c.writeBufferHighBytes()), new Recorder());
        links.add(link);
        return link;
    }

    /**
     * Accepts on beta's port and hangs up at once, counting alpha's attempts: waits for
     * {@code wanted} of them, then, if {@code quietMillis} is positive, watches that long for
     * more (a window in which nothing may happen, not a measure of speed).
     */
    private int attempts(Duration connectRetry, int wanted, long quietMillis) throws Exception {
        try (ServerSocket beta = new ServerSocket()) {
            beta.setReuseAddress(true);
            beta.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), betaPort));
            AtomicInteger attempts = new AtomicInteger();
            Thread acceptor = new Thread(() -> {
                while (true) {
                    try (Socket s = beta.accept()) {
                        attempts.incrementAndGet();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            acceptor.start();
            PeerLink a = alpha(connectRetry, Duration.ofSeconds(3));
            await(wanted + " attempts", () -> attempts.get() >= wanted);
            if (quietMillis > 0) {
                Thread.sleep(quietMillis);
            }
            int n = attempts.get();
            a.close();
            links.remove(a);
            beta.close();
            acceptor.join();
            return n;
        }
    }

    @Test
    void connectRetryIsThePauseBetweenAttempts() throws Exception {
        // With a short pause alpha keeps trying (the wait for four attempts would time out
        // otherwise); with a long one it makes no second attempt while we watch.
        assertTrue(attempts(Duration.ofMillis(150), 4, 0) >= 4);
        betaPort = freePort();
        alphaPort = freePort();
        int slow = attempts(Duration.ofMinutes(10), 1, 1500);
        assertEquals(1, slow, "with connect-retry 10m alpha waits before its second attempt");
    }

    /** Whether the link hangs up on a client that connects and says nothing, within {@code waitMillis}. */
    private boolean silentClientDropped(int waitMillis) throws Exception {
        try (Socket silent = new Socket()) {
            silent.connect(new InetSocketAddress("127.0.0.1", alphaPort), 5_000);
            silent.setSoTimeout(waitMillis);
            try {
                while (silent.getInputStream().read() >= 0) {
                    // a link never says anything first to an inbound connection; drop whatever comes
                }
            } catch (SocketTimeoutException e) {
                return false;
            } catch (SocketException e) {
                // reset: closed too
            }
            return true;
        }
    }

    @Test
    void theTimeoutBoundsTheHandshake() throws Exception {
        PeerLink quick = alpha(Duration.ofMillis(100), Duration.ofMillis(400));
        await("listening", () -> quick.listenAddress() != null);
        assertTrue(silentClientDropped(30_000), "timeout 400ms: a silent client is dropped");
        quick.close();
        links.remove(quick);

        alphaPort = freePort();
        PeerLink patient = alpha(Duration.ofMillis(100), Duration.ofSeconds(30));
        await("listening", () -> patient.listenAddress() != null);
        assertFalse(silentClientDropped(1_500), "timeout 30s: still waiting while we watch for 1.5 s");
    }
}
