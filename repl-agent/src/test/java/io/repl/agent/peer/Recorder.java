package io.repl.agent.peer;

import io.repl.protocol.Message;
import io.repl.protocol.handshake.HandshakeResult;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A listener that records every callback, so tests can wait for them and count them. */
final class Recorder implements PeerLink.Listener {
    static final long WAIT_SECONDS = 20;

    final BlockingQueue<PeerSession> connected = new LinkedBlockingQueue<>();
    final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    final BlockingQueue<String> disconnected = new LinkedBlockingQueue<>();
    final BlockingQueue<Boolean> writability = new LinkedBlockingQueue<>();
    final List<String> events = new CopyOnWriteArrayList<>();
    final List<Thread> callbackThreads = new CopyOnWriteArrayList<>();

    @Override
    public void onConnected(PeerSession s, HandshakeResult r) {
        callbackThreads.add(Thread.currentThread());
        events.add("connected #" + s.id());
        connected.add(s);
    }

    @Override
    public void onMessage(PeerSession s, Message m) {
        callbackThreads.add(Thread.currentThread());
        messages.add(m);
    }

    @Override
    public void onDisconnected(PeerSession s, String reason) {
        callbackThreads.add(Thread.currentThread());
        events.add("disconnected #" + s.id() + ": " + reason);
        disconnected.add(reason);
    }

    @Override
    public void onWritabilityChanged(PeerSession s, boolean writable) {
        callbackThreads.add(Thread.currentThread());
        writability.add(writable);
    }

    boolean awaitWritability() throws InterruptedException {
        return require(writability.poll(WAIT_SECONDS, TimeUnit.SECONDS), "onWritabilityChanged");
    }

    int connectedCount() {
        return (int) events.stream().filter(e -> e.startsWith("connected")).count();
    }

    PeerSession awaitConnected() throws InterruptedException {
        return require(connected.poll(WAIT_SECONDS, TimeUnit.SECONDS), "onConnected");
    }

    Message awaitMessage() throws InterruptedException {
        return require(messages.poll(WAIT_SECONDS, TimeUnit.SECONDS), "onMessage");
    }

    String awaitDisconnected() throws InterruptedException {
        return require(disconnected.poll(WAIT_SECONDS, TimeUnit.SECONDS), "onDisconnected");
    }

    private <T> T require(T value, String what) {
        if (value == null) {
            throw new AssertionError("no " + what + " within " + WAIT_SECONDS + " s; events so far: " + events);
        }
        return value;
    }
}
