package io.repl.agent.peer;

import static io.repl.agent.peer.Fixture.await;
import static io.repl.agent.peer.Fixture.config;
import static io.repl.agent.peer.Fixture.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.repl.agent.replication.CoreDriver;
import io.repl.agent.replication.DriverFixture;
import io.repl.core.replication.ConnectionState;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.DiskState;
import io.repl.protocol.Message;
import io.repl.protocol.ReceiveAck;
import io.repl.protocol.handshake.HandshakeConfig;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replication driver between a real peer link and a real core, against a scripted peer:
 * frames that were already on their way when the core closed the connection never reach it.
 */
@Timeout(60)
class CoreDriverSessionTest {
    @TempDir
    Path dir;

    @Test
    void framesQueuedBeforeTheCoreClosedTheConnectionNeverReachIt() throws Exception {
        int alphaPort = freePort();
        int unusedPort = freePort();
        try (DriverFixture f = new DriverFixture(dir, alphaPort, unusedPort)) {
            CoreDriver driver = f.start(config("alpha", "beta", alphaPort, unusedPort, false), e -> e);
            closeWithFramesQueued(driver, alphaPort);
        }
    }

    private static void closeWithFramesQueued(CoreDriver driver, int alphaPort) throws Exception {
        await("alpha listening", () -> driver.link().listenAddress() != null);
        try (RawPeer beta = RawPeer.connect(new InetSocketAddress("127.0.0.1", alphaPort))) {
            beta.handshake(HandshakeConfig.of("beta", "alpha", Fixture.RESOURCE, Fixture.SECRET));
            await("alpha's core connected", () -> driver.status().connection() == ConnectionState.CONNECTED);
            // Two frames in one write, so both are read and queued for the core at once. The
            // first (an acknowledgement of a write never sent) makes the core close; the second
            // was already queued behind it and must be dropped, not handed to a core that has
            // left the connection.
            ByteArrayOutputStream both = new ByteArrayOutputStream();
            both.write(beta.bytes(new ReceiveAck(41)));
            both.write(beta.bytes(new ReceiveAck(42)));
            beta.sendRaw(both.toByteArray());
            Disconnect d = nextDisconnect(beta);
            assertEquals(DisconnectReason.PROTOCOL_ERROR, d.reason(), d.detail());
        }
        await("the core wants the peer again", () -> driver.status().connection() == ConnectionState.CONNECTING);
        assertNotEquals(DiskState.FAILED, driver.status().disk(), "the driver kept its core: " + driver.status());
        assertFalse(Fixture.logged("internal error in the replication core"), "no frame reached a closed connection");
    }

    private static Disconnect nextDisconnect(RawPeer p) throws Exception {
        while (true) {
            Message m = p.receive();
            if (m == null) {
                throw new AssertionError("closed without a DISCONNECT");
            }
            if (m instanceof Disconnect d) {
                return d;
            }
        }
    }
}
