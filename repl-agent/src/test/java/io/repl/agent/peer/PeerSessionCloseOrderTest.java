package io.repl.agent.peer;

import static io.repl.agent.peer.Fixture.config;
import static io.repl.agent.peer.Fixture.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.netty.channel.EventLoopGroup;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.WriteAck;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What the core sends just before it closes the connection, in the same event (a goodbye
 * STATE before the DISCONNECT of an orderly stop), reaches the peer, and before the DISCONNECT.
 */
@Timeout(60)
class PeerSessionCloseOrderTest {
    private EventLoopGroup group;
    private PeerLink alpha;
    private PeerLink beta;

    @AfterEach
    void tearDown() {
        if (alpha != null) {
            alpha.close();
        }
        if (beta != null) {
            beta.close();
        }
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void aMessageSentInTheSameLoopTurnAsTheCloseArrivesBeforeTheDisconnect() throws Exception {
        group = Fixture.group();
        int portA = freePort();
        int portB = freePort();
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        alpha = PeerLink.start(group, config("alpha", "beta", portA, portB, false), ra);
        beta = PeerLink.start(group, config("beta", "alpha", portB, portA, false), rb);
        ra.awaitConnected();
        PeerSession sb = rb.awaitConnected();

        // As the core does it: one task on the loop sends, then closes.
        sb.executor().execute(() -> {
            sb.send(new WriteAck(9));
            sb.close(DisconnectReason.SHUTDOWN, "going down");
        });

        assertEquals(9, assertInstanceOf(WriteAck.class, ra.awaitMessage()).seq());
        assertEquals(DisconnectReason.SHUTDOWN, assertInstanceOf(Disconnect.class, ra.awaitMessage()).reason());
    }
}
