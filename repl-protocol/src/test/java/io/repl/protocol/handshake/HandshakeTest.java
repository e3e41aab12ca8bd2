package io.repl.protocol.handshake;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.protocol.AuthResponse;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.DiskState;
import io.repl.protocol.Features;
import io.repl.protocol.FrameEncoder;
import io.repl.protocol.GenerationUuids;
import io.repl.protocol.Hello;
import io.repl.protocol.Message;
import io.repl.protocol.MessageDecoder;
import io.repl.protocol.PeerState;
import io.repl.protocol.ProtocolException;
import io.repl.protocol.ProtocolVersion;
import io.repl.protocol.Role;
import io.repl.protocol.WireSettings;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HandshakeTest {
    private static final byte[] SECRET = "change-me".getBytes(StandardCharsets.UTF_8);
    private static final HandshakeConfig ALPHA = HandshakeConfig.of("alpha", "beta", "r0", SECRET);
    private static final HandshakeConfig BETA = HandshakeConfig.of("beta", "alpha", "r0", SECRET);

    /**
     * One side of a connection: a handshake plus a real encoder and decoder, so every test
     * also exercises the handshake-phase framing and the switch to session settings.
     */
    private static final class Side {
        final Handshake handshake;
        final FrameEncoder encoder = new FrameEncoder();
        final MessageDecoder decoder = new MessageDecoder();
        final List<Message> sessionReceived = new ArrayList<>();
        Side peer;
        final Deque<ByteBuffer> inbox = new ArrayDeque<>();

        Side(HandshakeConfig config, long seed) {
            handshake = new Handshake(config, new SplittableRandom(seed));
        }

        void send(Message m) {
            peer.inbox.add(encoder.encode(m).toByteBuffer());
        }

        void start() {
            send(handshake.start());
        }

        /** Delivers queued bytes; returns false when there was nothing to deliver. */
        boolean deliver() {
            ByteBuffer bytes = inbox.poll();
            if (bytes == null) {
                return false;
            }
            Message m;
            while ((m = decoder.decode(bytes)) != null) {
                if (handshake.status() == Handshake.Status.SUCCEEDED) {
                    sessionReceived.add(m);
                    continue;
                }
                if (handshake.status() == Handshake.Status.FAILED) {
                    continue;
                }
                HandshakeStep step = handshake.receive(m);
                step.toSend().forEach(this::send);
                if (step.succeeded()) {
                    WireSettings session = step.result().wireSettings();
                    decoder.update(session);
                    encoder.update(session);
                    send(new PeerState(Role.SECONDARY, DiskState.UP_TO_DATE, 0));
                }
            }
            return true;
        }
    }

    private static Side[] connect(HandshakeConfig a, HandshakeConfig b) {
        Side alpha = new Side(a, 1);
        Side beta = new Side(b, 2);
        alpha.peer = beta;
        beta.peer = alpha;
        alpha.start();
        beta.start();
        for (int i = 0; i < 100 && (alpha.deliver() | beta.deliver()); i++) {
            // Alternate deliveries until both inboxes are empty.
        }
        return new Side[] {alpha, beta};
    }

    @Test
    void succeedsBothWaysAndSessionMessagesFlow() {
        Side[] sides = connect(ALPHA, BETA);
        for (Side side : sides) {
            assertEquals(Handshake.Status.SUCCEEDED, side.handshake.status());
            assertEquals(ProtocolVersion.MAX, side.handshake.result().version());
            assertEquals(Features.OFFERED, side.handshake.result().features());
            assertEquals(List.of(new PeerState(Role.SECONDARY, DiskState.UP_TO_DATE, 0)), side.sessionReceived);
        }
        assertEquals("beta", sides[0].handshake.result().peerNode());
        assertEquals("alpha", sides[1].handshake.result().peerNode());
    }

    @Test
    void featuresAreTheIntersectionAndUnknownBitsAreDropped() {
        Side[] sides = connect(ALPHA.withFeatures(Features.LZ4 | Features.TRIM | 1 << 20),
                BETA.withFeatures(Features.LZ4 | Features.CSUM_RESYNC | 1 << 20));
        assertEquals(Features.LZ4, sides[0].handshake.result().features());
        assertEquals(Features.LZ4, sides[1].handshake.result().features());
    }

    @Test
    void versionNegotiationPicksTheHighestCommonVersion() {
        Handshake a = new Handshake(ALPHA.withVersions(1, 5), new SplittableRandom(1));
        Handshake b = new Handshake(BETA.withVersions(3, 9), new SplittableRandom(2));
        Hello ha = a.start();
        Hello hb = b.start();
        AuthResponse ra = (AuthResponse) a.receive(hb).toSend().get(0);
        AuthResponse rb = (AuthResponse) b.receive(ha).toSend().get(0);
        assertEquals(5, a.receive(rb).result().version());
        assertEquals(5, b.receive(ra).result().version());
    }

    @Test
    void disjointVersionRangesFailNamingBothRanges() {
        Handshake a = new Handshake(ALPHA.withVersions(1, 2), new SplittableRandom(1));
        Handshake b = new Handshake(BETA.withVersions(3, 4), new SplittableRandom(2));
        a.start();
        HandshakeStep step = a.receive(b.start());
        assertTrue(step.failed());
        assertEquals(HandshakeFailure.Reason.VERSION_MISMATCH, step.failure().reason());
        assertTrue(step.failure().detail().contains("1..2"), step.failure().detail());
        assertTrue(step.failure().detail().contains("3..4"), step.failure().detail());
        Disconnect sent = (Disconnect) step.toSend().get(0);
        assertEquals(DisconnectReason.VERSION_MISMATCH, sent.reason());
    }

    @Test
    void wrongResourceFailsNamingBoth() {
        Handshake a = new Handshake(ALPHA, new SplittableRandom(1));
        Handshake b = new Handshake(HandshakeConfig.of("beta", "alpha", "r1", SECRET), new SplittableRandom(2));
        a.start();
        HandshakeStep step = a.receive(b.start());
        assertEquals(HandshakeFailure.Reason.WRONG_RESOURCE, step.failure().reason());
        assertTrue(step.failure().detail().contains("'r1'"), step.failure().detail());
        assertTrue(step.failure().detail().contains("'r0'"), step.failure().detail());
        assertEquals(DisconnectReason.WRONG_RESOURCE, ((Disconnect) step.toSend().get(0)).reason());
    }

    @Test
    void unknownPeerNameFails() {
        Handshake a = new Handshake(ALPHA, new SplittableRandom(1));
        Handshake mallory = new Handshake(HandshakeConfig.of("mallory", "alpha", "r0", SECRET), new SplittableRandom(2));
        a.start();
        HandshakeStep step = a.receive(mallory.start());
        assertEquals(HandshakeFailure.Reason.WRONG_PEER, step.failure().reason());
        assertTrue(step.failure().detail().contains("'mallory'") && step.failure().detail().contains("'beta'"));
    }

    @Test
    void wrongSecretOnEitherSideFailsBothAndNothingIsAcceptedAfter() {
        byte[] other = "not-the-secret".getBytes(StandardCharsets.UTF_8);
        for (int wrongSide = 0; wrongSide < 2; wrongSide++) {
            HandshakeConfig a = wrongSide == 0 ? HandshakeConfig.of("alpha", "beta", "r0", other) : ALPHA;
            HandshakeConfig b = wrongSide == 1 ? HandshakeConfig.of("beta", "alpha", "r0", other) : BETA;
            Side[] sides = connect(a, b);
            for (Side side : sides) {
                assertEquals(Handshake.Status.FAILED, side.handshake.status());
                assertEquals(HandshakeFailure.Reason.AUTH_FAILED, side.handshake.failure().reason());
                assertNull(side.handshake.result());
                assertEquals(List.of(), side.sessionReceived, "no session message got through");
                // The decoder is still in the handshake phase: a STATE frame would be refused.
                assertEquals(WireSettings.handshake(), side.decoder.settings());
                assertThrows(IllegalStateException.class,
                        () -> side.handshake.receive(new PeerState(Role.PRIMARY, DiskState.UP_TO_DATE, 0)));
            }
        }
    }

    @Test
    void authFailureTellsThePeerNothingButTheReason() {
        Handshake a = new Handshake(ALPHA, new SplittableRandom(1));
        Handshake b = new Handshake(HandshakeConfig.of("beta", "alpha", "r0", new byte[] {1}), new SplittableRandom(2));
        Hello ha = a.start();
        a.receive(b.start());
        AuthResponse rb = (AuthResponse) b.receive(ha).toSend().get(0);
        HandshakeStep step = a.receive(rb);
        assertEquals(new Disconnect(DisconnectReason.AUTH_FAILED, ""), step.toSend().get(0));
    }

    @Test
    void stateOrUuidsBeforeAuthenticationFail() {
        List<Message> early = List.of(new PeerState(Role.PRIMARY, DiskState.UP_TO_DATE, 0),
                new GenerationUuids(1, 2, List.of(), 0, 0));
        for (Message m : early) {
            Handshake a = new Handshake(ALPHA, new SplittableRandom(1));
            a.start();
            assertEquals(HandshakeFailure.Reason.UNEXPECTED_MESSAGE, a.receive(m).failure().reason());

            Handshake b = new Handshake(ALPHA, new SplittableRandom(1));
            b.start();
            b.receive(new Handshake(BETA, new SplittableRandom(2)).start());
            HandshakeStep step = b.receive(m);
            assertEquals(HandshakeFailure.Reason.UNEXPECTED_MESSAGE, step.failure().reason());
            assertTrue(step.failure().detail().contains(m.type().toString()));
            assertNull(b.result());
        }
    }

    @Test
    void sessionFramesAreRefusedByTheHandshakeDecoder() {
        FrameEncoder session = new FrameEncoder(WireSettings.session(ProtocolVersion.MAX, 0));
        ByteBuffer state = session.encode(new PeerState(Role.PRIMARY, DiskState.UP_TO_DATE, 0)).toByteBuffer();
        // Session frames need session settings to be encoded at all ...
        assertThrows(IllegalStateException.class,
                () -> new FrameEncoder().encode(new PeerState(Role.PRIMARY, DiskState.UP_TO_DATE, 0)));
        // ... and a handshake-phase decoder refuses them from the header (their version already).
        ProtocolException e = assertThrows(ProtocolException.class, () -> new MessageDecoder().decode(state));
        assertEquals("header.version", e.field());
    }

    @Test
    void responseEchoedBackInTheSameSessionIsRejected() {
        // Mallory claims to be alpha, cannot compute an answer, and sends beta's own answer back.
        Handshake b = new Handshake(BETA, new SplittableRandom(2));
        b.start();
        HandshakeStep step = b.receive(new Hello(ProtocolVersion.MAX, ProtocolVersion.MAX, Features.KNOWN, nonce(9), "alpha", "r0"));
        AuthResponse betasOwnAnswer = (AuthResponse) step.toSend().get(0);
        HandshakeStep reflected = b.receive(betasOwnAnswer);
        assertEquals(HandshakeFailure.Reason.AUTH_FAILED, reflected.failure().reason());
    }

    @Test
    void responseReflectedFromAParallelSessionIsRejected() {
        // Mallory (without the secret) opens two connections to beta and tries to make beta
        // answer its own challenge in the second one.
        SplittableRandom betaRandom = new SplittableRandom(7);
        Handshake session1 = new Handshake(BETA, betaRandom);
        Handshake session2 = new Handshake(BETA, betaRandom);
        Hello b1 = session1.start();
        Hello b2 = session2.start();
        // In session 1 Mallory uses beta's session-2 nonce; in session 2, beta's session-1 nonce.
        // Beta's answer in session 2 then covers exactly the two nonces session 1 checks.
        session1.receive(new Hello(ProtocolVersion.MAX, ProtocolVersion.MAX, 0, b2.nonce(), "alpha", "r0"));
        AuthResponse answer2 = (AuthResponse) session2.receive(new Hello(ProtocolVersion.MAX, ProtocolVersion.MAX, 0, b1.nonce(), "alpha", "r0"))
                .toSend().get(0);
        HandshakeStep step = session1.receive(answer2);
        assertTrue(step.failed(), "the direction and names in the MAC make beta's own answer invalid");
        assertEquals(HandshakeFailure.Reason.AUTH_FAILED, step.failure().reason());
    }

    @Test
    void helloCarryingOurOwnNonceIsRejected() {
        Handshake b = new Handshake(BETA, new SplittableRandom(2));
        Hello hb = b.start();
        HandshakeStep step = b.receive(new Hello(ProtocolVersion.MAX, ProtocolVersion.MAX, 0, hb.nonce(), "alpha", "r0"));
        assertEquals(HandshakeFailure.Reason.BAD_NONCE, step.failure().reason());
        assertTrue(step.toSend().get(0) instanceof Disconnect);
    }

    @Test
    void replayedOldSessionIsRejected() {
        // Record a genuine alpha-to-beta session.
        Handshake alpha = new Handshake(ALPHA, new SplittableRandom(1));
        Handshake beta = new Handshake(BETA, new SplittableRandom(2));
        Hello oldAlphaHello = alpha.start();
        Hello betaHello = beta.start();
        AuthResponse oldAlphaResponse = (AuthResponse) alpha.receive(betaHello).toSend().get(0);
        beta.receive(oldAlphaHello);
        assertTrue(beta.receive(oldAlphaResponse).succeeded());

        // Replay both of alpha's messages into a new beta session: beta's nonce is fresh, so
        // the old response does not answer it.
        Handshake beta2 = new Handshake(BETA, new SplittableRandom(3));
        assertFalse(Arrays.equals(betaHello.nonce(), beta2.start().nonce()));
        assertTrue(beta2.receive(oldAlphaHello).pending());
        HandshakeStep step = beta2.receive(oldAlphaResponse);
        assertEquals(HandshakeFailure.Reason.AUTH_FAILED, step.failure().reason());
        assertNull(beta2.result());
    }

    @Test
    void replayedOldNonceIsRejectedEarlyWithANonceHistory() {
        NonceHistory history = new NonceHistory(16);
        Handshake beta = new Handshake(BETA, new SplittableRandom(2), history);
        beta.start();
        Hello alphaHello = new Handshake(ALPHA, new SplittableRandom(1)).start();
        assertTrue(beta.receive(alphaHello).pending());

        Handshake beta2 = new Handshake(BETA, new SplittableRandom(3), history);
        beta2.start();
        HandshakeStep step = beta2.receive(alphaHello);
        assertEquals(HandshakeFailure.Reason.BAD_NONCE, step.failure().reason());
        assertTrue(step.failure().detail().contains("replay"));
        assertEquals(new Disconnect(DisconnectReason.AUTH_FAILED, ""), step.toSend().get(0));
    }

    @Test
    void nonceHistoryForgetsTheOldestFirst() {
        NonceHistory history = new NonceHistory(2);
        assertTrue(history.remember(nonce(1)));
        assertTrue(history.remember(nonce(2)));
        assertFalse(history.remember(nonce(2)));
        assertTrue(history.remember(nonce(3)));
        assertTrue(history.remember(nonce(1)), "nonce 1 was evicted");
    }

    @Test
    void noncesComeFromTheInjectedSourceSoSeedsReplay() {
        Hello first = new Handshake(ALPHA, new SplittableRandom(99)).start();
        Hello again = new Handshake(ALPHA, new SplittableRandom(99)).start();
        Hello other = new Handshake(ALPHA, new SplittableRandom(100)).start();
        assertArrayEquals(first.nonce(), again.nonce());
        assertFalse(Arrays.equals(first.nonce(), other.nonce()));
    }

    @Test
    void peerDisconnectEndsTheHandshakeWithoutAReply() {
        Handshake a = new Handshake(ALPHA, new SplittableRandom(1));
        a.start();
        HandshakeStep step = a.receive(new Disconnect(DisconnectReason.SHUTDOWN, "going down"));
        assertEquals(HandshakeFailure.Reason.PEER_DISCONNECTED, step.failure().reason());
        assertTrue(step.toSend().isEmpty());
    }

    @Test
    void misuseIsAProgrammerError() {
        Handshake a = new Handshake(ALPHA, new SplittableRandom(1));
        assertThrows(IllegalStateException.class, () -> a.receive(new AuthResponse(nonce(1))));
        a.start();
        assertThrows(IllegalStateException.class, a::start);
        assertThrows(IllegalArgumentException.class, () -> HandshakeConfig.of("alpha", "alpha", "r0", SECRET));
        assertThrows(IllegalArgumentException.class, () -> HandshakeConfig.of("alpha", "beta", "r0", new byte[0]));
        assertFalse(ALPHA.toString().contains("change-me"), "the secret never reaches a log");
    }

    private static byte[] nonce(int seed) {
        byte[] n = new byte[32];
        new SplittableRandom(seed).nextBytes(n);
        n[0] |= 1;
        return n;
    }
}
