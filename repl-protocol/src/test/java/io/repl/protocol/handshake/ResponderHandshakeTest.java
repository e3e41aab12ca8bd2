package io.repl.protocol.handshake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.protocol.AuthResponse;
import io.repl.protocol.Disconnect;
import io.repl.protocol.Hello;
import io.repl.protocol.Message;
import io.repl.protocol.Ping;
import io.repl.protocol.ProtocolVersion;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The witness's side of the handshake: it learns the resource and the node from the node's
 * HELLO, then answers with its own HELLO and AUTH_RESPONSE at once. The node runs the ordinary
 * handshake and cannot tell the difference.
 */
class ResponderHandshakeTest {
    private static final byte[] SECRET = "change-me".getBytes(StandardCharsets.UTF_8);
    private static final Handshake.Resolver WITNESS = (resource, node) ->
            resource.equals("r0") && (node.equals("alpha") || node.equals("beta"))
                    ? HandshakeConfig.of("witness", node, resource, SECRET) : null;

    @Test
    void aNodeAuthenticatesToAResponderThatLearnsWhoItIsFromItsHello() {
        Handshake node = new Handshake(HandshakeConfig.of("beta", "witness", "r0", SECRET), new SplittableRandom(1));
        Handshake witness = Handshake.responder(WITNESS, new SplittableRandom(2), new NonceHistory(8));
        Hello hello = node.start();
        HandshakeStep answer = witness.receive(hello);
        assertTrue(answer.pending(), "the witness waits for the node's answer to its challenge");
        assertEquals(2, answer.toSend().size());
        assertTrue(answer.toSend().get(0) instanceof Hello);
        assertTrue(answer.toSend().get(1) instanceof AuthResponse);
        HandshakeStep mine = node.receive(answer.toSend().get(0));
        HandshakeStep done = node.receive(answer.toSend().get(1));
        assertEquals(HandshakeResult.class, done.result().getClass(), "the node accepts the witness");
        HandshakeStep accepted = witness.receive(mine.toSend().get(0));
        assertEquals("beta", accepted.result().peerNode());
        assertEquals(ProtocolVersion.MAX, accepted.result().version());
    }

    @Test
    void aResourceTheResponderDoesNotServeIsRefusedByName() {
        Handshake node = new Handshake(HandshakeConfig.of("alpha", "witness", "r9", SECRET), new SplittableRandom(1));
        Handshake witness = Handshake.responder(WITNESS, new SplittableRandom(2), null);
        HandshakeStep step = witness.receive(node.start());
        assertEquals(HandshakeFailure.Reason.WRONG_RESOURCE, step.failure().reason());
        assertTrue(step.failure().detail().contains("'r9'"), step.failure().detail());
        assertTrue(step.toSend().get(0) instanceof Disconnect);
    }

    @Test
    void aNodeWithTheWrongSecretIsRefusedAndLearnsNothing() {
        Handshake node = new Handshake(HandshakeConfig.of("alpha", "witness", "r0",
                "wrong".getBytes(StandardCharsets.UTF_8)), new SplittableRandom(1));
        Handshake witness = Handshake.responder(WITNESS, new SplittableRandom(2), null);
        List<Message> answer = witness.receive(node.start()).toSend();
        HandshakeStep nodeSide = node.receive(answer.get(0));
        assertEquals(HandshakeFailure.Reason.AUTH_FAILED, node.receive(answer.get(1)).failure().reason(),
                "the node sees the witness's answer does not match its secret");
        HandshakeStep step = witness.receive(nodeSide.toSend().get(0));
        assertEquals(HandshakeFailure.Reason.AUTH_FAILED, step.failure().reason());
        assertEquals("", ((Disconnect) step.toSend().get(0)).detail(), "no detail for a failed authentication");
    }

    @Test
    void anythingButHelloFirstFailsTheResponder() {
        Handshake witness = Handshake.responder(WITNESS, new SplittableRandom(2), null);
        HandshakeStep step = witness.receive(new Ping(1));
        assertEquals(HandshakeFailure.Reason.UNEXPECTED_MESSAGE, step.failure().reason());
    }
}
