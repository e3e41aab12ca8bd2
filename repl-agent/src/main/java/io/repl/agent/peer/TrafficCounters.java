package io.repl.agent.peer;

import io.repl.protocol.ChecksumReply;
import io.repl.protocol.DataWrite;
import io.repl.protocol.Message;
import io.repl.protocol.ResyncData;

/**
 * Running totals of one connection, also added to the totals of its link.
 *
 * <p>Only the link's event loop writes (every channel of a link lives on that one loop), so
 * plain volatile fields are enough: readers on other threads see recent values, and no update
 * is lost because there is a single writer.
 */
public final class TrafficCounters {
    private final TrafficCounters parent;
    private volatile long bytesIn;
    private volatile long bytesOut;
    private volatile long messagesIn;
    private volatile long messagesOut;
    private volatile long blockBytesIn;
    private volatile long blockBytesOut;
    private volatile long resyncBytesIn;
    private volatile long resyncBytesOut;

    public TrafficCounters(TrafficCounters parent) {
        this.parent = parent;
    }

    public void received(long bytes) {
        bytesIn += bytes;
        if (parent != null) {
            parent.received(bytes);
        }
    }

    /** A whole frame of {@code frameBytes} bytes (as on the wire) decoded into {@code m}. */
    public void receivedMessage(Message m, long frameBytes) {
        messagesIn++;
        blockBytesIn += blockBytes(m);
        if (isResync(m)) {
            resyncBytesIn += frameBytes;
        }
        if (parent != null) {
            parent.receivedMessage(m, frameBytes);
        }
    }

    public void sent(Message m, long frameBytes) {
        bytesOut += frameBytes;
        messagesOut++;
        blockBytesOut += blockBytes(m);
        if (isResync(m)) {
            resyncBytesOut += frameBytes;
        }
        if (parent != null) {
            parent.sent(m, frameBytes);
        }
    }

    /** The messages of a resync: requests, answers and refusals, with or without checksums. */
    static boolean isResync(Message m) {
        return switch (m.type()) {
            case RS_REQUEST, RS_DATA, RS_NEG_ACK, CSUM_REQUEST, CSUM_REPLY -> true;
            default -> false;
        };
    }

    public long bytesIn() {
        return bytesIn;
    }

    /** Frame bytes of resync messages received (see {@link #isResync}), as on the wire. */
    public long resyncBytesIn() {
        return resyncBytesIn;
    }

    /** Frame bytes of resync messages sent (see {@link #isResync}), as on the wire. */
    public long resyncBytesOut() {
        return resyncBytesOut;
    }

    public PeerCounters snapshot() {
        return new PeerCounters(bytesIn, bytesOut, messagesIn, messagesOut, blockBytesIn, blockBytesOut,
                resyncBytesIn, resyncBytesOut);
    }

    /** The uncompressed size of the block a message carries, 0 for messages without one (or a zero block). */
    public static long blockBytes(Message m) {
        if (m instanceof DataWrite d) {
            return d.data().remaining();
        }
        if (m instanceof ResyncData r) {
            return r.zeroes() ? 0 : r.length();
        }
        if (m instanceof ChecksumReply c) {
            return c.inSync() ? 0 : c.length();
        }
        return 0;
    }
}
