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

    public void receivedMessage(Message m) {
        messagesIn++;
        blockBytesIn += blockBytes(m);
        if (m instanceof ResyncData r) {
            resyncBytesIn += r.length();
        }
        if (parent != null) {
            parent.receivedMessage(m);
        }
    }

    public void sent(Message m, long frameBytes) {
        bytesOut += frameBytes;
        messagesOut++;
        blockBytesOut += blockBytes(m);
        if (m instanceof ResyncData r) {
            resyncBytesOut += r.length();
        }
        if (parent != null) {
            parent.sent(m, frameBytes);
        }
    }

    public long bytesIn() {
        return bytesIn;
    }

    /** Block bytes of RS_DATA received (uncompressed): what resyncs brought in. */
    public long resyncBytesIn() {
        return resyncBytesIn;
    }

    /** Block bytes of RS_DATA sent (uncompressed): what resyncs sent out. */
    public long resyncBytesOut() {
        return resyncBytesOut;
    }

    public PeerCounters snapshot() {
        return new PeerCounters(bytesIn, bytesOut, messagesIn, messagesOut, blockBytesIn, blockBytesOut);
    }

    /** The uncompressed size of the block a message carries, 0 for messages without one. */
    public static long blockBytes(Message m) {
        if (m instanceof DataWrite d) {
            return d.data().remaining();
        }
        if (m instanceof ResyncData r) {
            return r.length();
        }
        if (m instanceof ChecksumReply c) {
            return c.inSync() ? 0 : c.length();
        }
        return 0;
    }
}
