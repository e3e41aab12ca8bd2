package io.repl.protocol.handshake;

import java.nio.ByteBuffer;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The most recent peer nonces, shared by the handshakes of one resource, so a HELLO replayed
 * from an earlier connection is refused outright. Freshness of our own nonce already makes
 * any replayed response fail; this catches the replay one step earlier and also flags a
 * peer whose random source repeats. Bounded: the oldest nonce is forgotten first.
 */
public final class NonceHistory {
    private final int capacity;
    private final Set<ByteBuffer> seen = new LinkedHashSet<>();

    /** @param capacity how many nonces to remember, at least 1 */
    public NonceHistory(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
        }
        this.capacity = capacity;
    }

    /** Records {@code nonce}; returns false when it was already remembered. */
    public synchronized boolean remember(byte[] nonce) {
        ByteBuffer key = ByteBuffer.wrap(nonce.clone());
        if (seen.contains(key)) {
            return false;
        }
        if (seen.size() == capacity) {
            seen.remove(seen.iterator().next());
        }
        seen.add(key);
        return true;
    }
}
