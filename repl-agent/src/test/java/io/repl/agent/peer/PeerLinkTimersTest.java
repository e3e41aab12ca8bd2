package io.repl.agent.peer;

import static io.repl.agent.peer.Fixture.await;
import static io.repl.agent.peer.Fixture.config;
import static io.repl.agent.peer.Fixture.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
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

    /** Accepts on beta's port and hangs up at once, counting alpha's attempts during {@code watchMillis}. */
    private int attemptsWithin(Duration connectRetry, long watchMillis) throws Exception {
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
            await("the first attempt", () -> attempts.get() >= 1);
            Thread.sleep(watchMillis);
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
        int quick = attemptsWithin(Duration.ofMillis(150), 2000);
        assertTrue(quick >= 4, "with connect-retry 150ms alpha tried " + quick + " times in 2 s");
        betaPort = freePort();
        alphaPort = freePort();
        int slow = attemptsWithin(Duration.ofMinutes(10), 1500);
        assertEquals(1, slow, "with connect-retry 10m alpha waits before its second attempt");
    }

    /** How long until the link hangs up on a client that connects and says nothing; -1 if not within {@code waitMillis}. */
    private long silentClientDroppedAfter(int waitMillis) throws Exception {
        try (Socket silent = new Socket()) {
            silent.connect(new InetSocketAddress("127.0.0.1", alphaPort), 5_000);
            silent.setSoTimeout(waitMillis);
            long start = System.nanoTime();
            try {
                while (silent.getInputStream().read() >= 0) {
                    // a link never says anything first to an inbound connection; drop whatever comes
                }
            } catch (SocketTimeoutException e) {
                return -1;
            } catch (SocketException e) {
                // reset: closed too
            }
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        }
    }

    @Test
    void theTimeoutBoundsTheHandshake() throws Exception {
        PeerLink quick = alpha(Duration.ofMillis(100), Duration.ofMillis(400));
        await("listening", () -> quick.listenAddress() != null);
        long dropped = silentClientDroppedAfter(5_000);
        assertTrue(dropped >= 300 && dropped < 2_500, "timeout 400ms: dropped after " + dropped + " ms");
        quick.close();
        links.remove(quick);

        alphaPort = freePort();
        PeerLink patient = alpha(Duration.ofMillis(100), Duration.ofSeconds(30));
        await("listening", () -> patient.listenAddress() != null);
        assertEquals(-1, silentClientDroppedAfter(1_500), "timeout 30s: still waiting after 1.5 s");
    }
}
