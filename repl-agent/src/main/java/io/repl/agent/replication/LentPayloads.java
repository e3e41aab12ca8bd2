package io.repl.agent.replication;

import io.repl.io.kernel.NativeMemory;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Pool buffers holding the peer's payloads, from the moment the link's decoder hands a DATA or
 * RS_DATA over until the disk write of that payload claims its buffer; the write gives it back
 * to the pool when the disk is done with it. Keyed by native address: the core passes a payload
 * on as views (slices, duplicates), which keep the address but not the identity.
 *
 * <p>A buffer goes back to the pool only from the one write that claimed it, after that write
 * completed, so the pool can never hand out memory the kernel still reads. A payload that is
 * never written (the connection dropped first, the disk went away) stays until the bounds push
 * it out and is then left to the GC, like any buffer the pool does not get back. Confined to
 * the resource's event loop.
 */
final class LentPayloads {
    /** At most this many buffers held unclaimed. */
    static final int HELD_MAX = 1024;
    /** At most this many bytes held unclaimed. */
    static final long HELD_BYTES_MAX = 64L << 20;

    private final LinkedHashMap<Long, ByteBuffer> held = new LinkedHashMap<>();
    private long heldBytes;

    /** Holds {@code buffer} (position 0, limit its payload's length) until a write claims it. */
    void lend(ByteBuffer buffer) {
        ByteBuffer before = held.put(NativeMemory.addressOf(buffer.duplicate().position(0)), buffer);
        if (before != null) {
            heldBytes -= before.limit();
        }
        heldBytes += buffer.limit();
        Iterator<Map.Entry<Long, ByteBuffer>> oldest = held.entrySet().iterator();
        while (held.size() > HELD_MAX || heldBytes > HELD_BYTES_MAX) {
            heldBytes -= oldest.next().getValue().limit();
            oldest.remove();
        }
    }

    /**
     * The held buffer {@code data} is the whole payload of, no longer held; null when there is
     * none (a heap payload, a part of one, one pushed out by the bounds, or claimed already).
     */
    ByteBuffer claim(ByteBuffer data) {
        if (held.isEmpty() || !data.isDirect()) {
            return null;
        }
        long address = NativeMemory.addressOf(data);
        ByteBuffer b = held.get(address);
        if (b == null || b.limit() != data.remaining()) {
            return null;
        }
        held.remove(address);
        heldBytes -= b.limit();
        return b;
    }

    /**
     * Forgets every held buffer, for the GC to take; a write of one that still comes writes
     * from it as it is and leaves it to the GC too.
     */
    void clear() {
        held.clear();
        heldBytes = 0;
    }

    int held() {
        return held.size();
    }
}
