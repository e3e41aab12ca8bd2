package io.repl.protocol.handshake;

import io.repl.protocol.AuthResponse;
import io.repl.protocol.Disconnect;
import io.repl.protocol.Features;
import io.repl.protocol.Hello;
import io.repl.protocol.Limits;
import io.repl.protocol.Message;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.List;
import java.util.random.RandomGenerator;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The connection handshake as a sans-I/O state machine: messages in, messages to send and an
 * outcome out. It never touches a socket, a thread or a clock; timeouts belong to the driver.
 *
 * <p>Both sides run the same steps at the same time:
 * <ol>
 *   <li>{@link #start()} returns our HELLO: versions, features, names and a fresh nonce drawn
 *       from the injected random source. The nonce is our challenge.</li>
 *   <li>On the peer's HELLO we check the resource, the peer's name, that the version ranges
 *       overlap and that the nonce is neither ours nor one seen before, then answer its
 *       challenge with AUTH_RESPONSE.</li>
 *   <li>On the peer's AUTH_RESPONSE we recompute the MAC we expect and compare in constant
 *       time. Only then is the handshake successful; until then any other message fails it,
 *       so nothing (STATE, UUIDS, DATA) from an unauthenticated peer is ever accepted.</li>
 * </ol>
 *
 * <p>The response is HMAC-SHA256 with the shared secret over: a label naming the protocol
 * and direction, the responder's name, the challenger's name, the resource, the challenger's
 * nonce and the responder's nonce (names length-prefixed). Because the responder's and the
 * challenger's names take fixed places, a response computed by one side is never valid for
 * the other, so an attacker cannot reflect a node's answer back to it. Because every
 * response covers the challenger's fresh nonce, an old response cannot be replayed.
 *
 * <p>Failures send a DISCONNECT naming the reason; after a failed authentication the peer
 * learns only that it failed.
 */
public final class Handshake {
    /** Where the handshake is. */
    public enum Status { NEW, AWAITING_HELLO, AWAITING_AUTH, SUCCEEDED, FAILED }

    static final String MAC_ALGORITHM = "HmacSHA256";
    /** Domain separation: these MACs mean "a repl v1 handshake response" and nothing else. */
    static final byte[] RESPONSE_LABEL = "repl-handshake-v1 response".getBytes(StandardCharsets.US_ASCII);

    /**
     * Chooses what a listener that serves several resources and nodes (the witness) expects,
     * once the connecting node's HELLO has named itself and its resource.
     */
    public interface Resolver {
        /**
         * The configuration for {@code peerNode} on {@code resource}, or null if this listener
         * does not serve that pair; the configuration's peer must be {@code peerNode}.
         */
        HandshakeConfig resolve(String resource, String peerNode);
    }

    private HandshakeConfig config;
    private final Resolver resolver;
    private final RandomGenerator random;
    private final NonceHistory history;
    private final byte[] localNonce = new byte[Limits.NONCE_BYTES];
    private Status status = Status.NEW;
    private Hello peerHello;
    private HandshakeResult result;
    private HandshakeFailure failure;

    /**
     * @param config what this side expects
     * @param random the nonce source: {@link java.security.SecureRandom} in production, a
     *     seeded generator in the simulator
     * @param history peer nonces of earlier connections of this resource, or null
     */
    public Handshake(HandshakeConfig config, RandomGenerator random, NonceHistory history) {
        this.config = config;
        this.resolver = null;
        this.random = random;
        this.history = history;
    }

    private Handshake(Resolver resolver, RandomGenerator random, NonceHistory history) {
        this.config = null;
        this.resolver = resolver;
        this.random = random;
        this.history = history;
    }

    /**
     * A handshake for a listener that learns the resource and the peer from the peer's HELLO
     * (the witness). It sends nothing first: {@link #start()} is not called; the first
     * {@link #receive} takes the peer's HELLO and answers with our HELLO and our
     * AUTH_RESPONSE together. The connecting side cannot tell the difference.
     */
    public static Handshake responder(Resolver resolver, RandomGenerator random, NonceHistory history) {
        return new Handshake(resolver, random, history);
    }

    public Handshake(HandshakeConfig config, RandomGenerator random) {
        this(config, random, null);
    }

    /** Begins the handshake; returns the HELLO to send first. */
    public Hello start() {
        requireStatus(Status.NEW, "start");
        do {
            random.nextBytes(localNonce);
        } while (isAllZero(localNonce));
        status = Status.AWAITING_HELLO;
        return new Hello(config.versionMin(), config.versionMax(), config.features(), localNonce,
                config.localNode(), config.resource());
    }

    /**
     * Feeds one message received from the peer.
     *
     * @throws IllegalStateException before {@link #start()} or after the handshake ended: the
     *     driver must hand later messages to the session, or close the connection
     */
    public HandshakeStep receive(Message message) {
        if (status == Status.NEW && resolver != null) {
            return onFirstHello(message);
        }
        if (status != Status.AWAITING_HELLO && status != Status.AWAITING_AUTH) {
            throw new IllegalStateException("handshake is " + status + "; it accepts no more messages");
        }
        if (message instanceof Disconnect d) {
            return fail(HandshakeFailure.Reason.PEER_DISCONNECTED,
                    "peer disconnected: " + d.reason() + (d.detail().isEmpty() ? "" : " (" + d.detail() + ")"));
        }
        if (status == Status.AWAITING_HELLO) {
            if (message instanceof Hello hello) {
                return onHello(hello);
            }
            return fail(HandshakeFailure.Reason.UNEXPECTED_MESSAGE, message.type() + " received before HELLO");
        }
        if (message instanceof AuthResponse response) {
            return onResponse(response);
        }
        return fail(HandshakeFailure.Reason.UNEXPECTED_MESSAGE, message.type()
                + " received before authentication completed; expected AUTH_RESPONSE");
    }

    public Status status() {
        return status;
    }

    /** The result once {@link Status#SUCCEEDED}, else null. */
    public HandshakeResult result() {
        return result;
    }

    /** The failure once {@link Status#FAILED}, else null. */
    public HandshakeFailure failure() {
        return failure;
    }

    private HandshakeStep onFirstHello(Message message) {
        if (!(message instanceof Hello hello)) {
            status = Status.AWAITING_HELLO;
            return message instanceof Disconnect ? receive(message)
                    : fail(HandshakeFailure.Reason.UNEXPECTED_MESSAGE, message.type() + " received before HELLO");
        }
        HandshakeConfig chosen = resolver.resolve(hello.resourceName(), hello.nodeName());
        if (chosen == null) {
            status = Status.AWAITING_HELLO;
            return fail(HandshakeFailure.Reason.WRONG_RESOURCE, "this listener serves no resource '"
                    + hello.resourceName() + "' with a node '" + hello.nodeName() + "'");
        }
        if (!chosen.peerNode().equals(hello.nodeName()) || !chosen.resource().equals(hello.resourceName())) {
            throw new IllegalStateException("the resolver returned " + chosen + " for " + hello);
        }
        config = chosen;
        Hello ours = start();
        HandshakeStep answer = onHello(hello);
        if (answer.failure() != null) {
            return answer;
        }
        List<Message> out = new java.util.ArrayList<>();
        out.add(ours);
        out.addAll(answer.toSend());
        return new HandshakeStep(List.copyOf(out), null, null);
    }

    private HandshakeStep onHello(Hello hello) {
        if (!hello.resourceName().equals(config.resource())) {
            return fail(HandshakeFailure.Reason.WRONG_RESOURCE, "peer offers resource '" + hello.resourceName()
                    + "' but this connection is for resource '" + config.resource() + "'");
        }
        if (!hello.nodeName().equals(config.peerNode())) {
            return fail(HandshakeFailure.Reason.WRONG_PEER, "peer calls itself '" + hello.nodeName()
                    + "' but the configuration expects '" + config.peerNode() + "'");
        }
        int low = Math.max(config.versionMin(), hello.versionMin());
        int high = Math.min(config.versionMax(), hello.versionMax());
        if (low > high) {
            return fail(HandshakeFailure.Reason.VERSION_MISMATCH, "no common protocol version: we speak "
                    + config.versionMin() + ".." + config.versionMax() + ", peer '" + hello.nodeName() + "' speaks "
                    + hello.versionMin() + ".." + hello.versionMax());
        }
        byte[] peerNonce = hello.nonce();
        if (MessageDigest.isEqual(peerNonce, localNonce)) {
            return fail(HandshakeFailure.Reason.BAD_NONCE, "peer's nonce equals ours: a reflected HELLO");
        }
        if (history != null && !history.remember(peerNonce)) {
            return fail(HandshakeFailure.Reason.BAD_NONCE, "peer's nonce was seen in an earlier handshake: a replay");
        }
        peerHello = hello;
        status = Status.AWAITING_AUTH;
        byte[] mac = response(config.localNode(), config.peerNode(), peerNonce, localNonce);
        return new HandshakeStep(List.of(new AuthResponse(mac)), null, null);
    }

    private HandshakeStep onResponse(AuthResponse response) {
        byte[] expected = response(config.peerNode(), config.localNode(), localNonce, peerHello.nonce());
        if (!MessageDigest.isEqual(expected, response.mac())) {
            return fail(HandshakeFailure.Reason.AUTH_FAILED, "peer '" + config.peerNode()
                    + "' answered our challenge wrongly: the shared secrets differ, or this is an attack");
        }
        int version = Math.min(config.versionMax(), peerHello.versionMax());
        int features = Features.agree(config.features(), peerHello.features());
        result = new HandshakeResult(version, features, peerHello.nodeName());
        status = Status.SUCCEEDED;
        return new HandshakeStep(List.of(), result, null);
    }

    /** HMAC of a response by {@code responder} to {@code challenger}'s nonce. */
    private byte[] response(String responder, String challenger, byte[] challengerNonce, byte[] responderNonce) {
        try {
            Mac mac = Mac.getInstance(MAC_ALGORITHM);
            mac.init(new SecretKeySpec(config.secret(), MAC_ALGORITHM));
            mac.update(RESPONSE_LABEL);
            mac.update(lengthPrefixed(responder));
            mac.update(lengthPrefixed(challenger));
            mac.update(lengthPrefixed(config.resource()));
            mac.update(challengerNonce);
            mac.update(responderNonce);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java runtime has " + MAC_ALGORITHM, e);
        }
    }

    private static byte[] lengthPrefixed(String name) {
        byte[] ascii = name.getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(1 + ascii.length).put((byte) ascii.length).put(ascii).array();
    }

    private HandshakeStep fail(HandshakeFailure.Reason reason, String detail) {
        failure = new HandshakeFailure(reason, detail);
        status = Status.FAILED;
        if (reason.wireReason() == null) {
            return new HandshakeStep(List.of(), null, failure);
        }
        // After a failed authentication the peer may be an attacker: tell it nothing more.
        String told = reason == HandshakeFailure.Reason.AUTH_FAILED || reason == HandshakeFailure.Reason.BAD_NONCE
                ? "" : detail;
        return new HandshakeStep(List.of(new Disconnect(reason.wireReason(), told)), null, failure);
    }

    private void requireStatus(Status expected, String action) {
        if (status != expected) {
            throw new IllegalStateException("cannot " + action + " a handshake that is " + status);
        }
    }

    private static boolean isAllZero(byte[] bytes) {
        int or = 0;
        for (byte b : bytes) {
            or |= b;
        }
        return or == 0;
    }
}
