package io.repl.agent.nbd;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What all NBD sessions of one export have in flight together: requests, and bytes (a read's
 * or a write's payload; the length of a trim or a zeroing, which costs the disks and the link as
 * much). At either bound every session stops reading requests from its socket, so the client is
 * held back by TCP instead of being answered with an error for being fast; below half of both,
 * they read again.
 *
 * <p>The bounds sit well below what the replication core queues ({@code queuedRequestsMax}):
 * one request becomes at most one core request per {@code requestBytesMax} of its length (a
 * zeroing at most a window of them at a time), so the requests in flight plus the bytes in flight
 * divided by {@code requestBytesMax}, plus the one request that crossed a bound, stay below
 * it. Payload bytes held per resource are bounded the same way, whatever the link's speed.
 *
 * <p>Confined to the export's event loop, which every session of the export runs on.
 */
public final class ExportLoad {
    /** Requests in flight, all sessions together, at which reading stops. */
    public static final int REQUESTS_MAX = 1024;
    /** Bytes in flight, all sessions together, at which reading stops. */
    public static final long BYTES_MAX = 128L << 20;

    private final int requestsMax;
    private final long bytesMax;
    private final Set<NbdSession> sessions = new LinkedHashSet<>();
    private int requests;
    private long bytes;
    private long bytesPeak;
    private int requestsPeak;
    private boolean paused;

    public ExportLoad() {
        this(REQUESTS_MAX, BYTES_MAX);
    }

    /** Other bounds, for tests that reach them with little data. */
    public ExportLoad(int requestsMax, long bytesMax) {
        if (requestsMax < 2 || bytesMax < 2) {
            throw new IllegalArgumentException("bounds too small: " + requestsMax + " requests, " + bytesMax + " bytes");
        }
        this.requestsMax = requestsMax;
        this.bytesMax = bytesMax;
    }

    void opened(NbdSession session) {
        sessions.add(session);
    }

    void closed(NbdSession session) {
        sessions.remove(session);
    }

    /** Whether sessions must not start requests now. */
    public boolean paused() {
        return paused;
    }

    void start(long requestBytes) {
        requests++;
        bytes += requestBytes;
        requestsPeak = Math.max(requestsPeak, requests);
        bytesPeak = Math.max(bytesPeak, bytes);
        if (!paused && (requests >= requestsMax || bytes >= bytesMax)) {
            paused = true;
            tellSessions();
        }
    }

    void finish(long requestBytes) {
        requests--;
        bytes -= requestBytes;
        if (requests < 0 || bytes < 0) {
            throw new IllegalStateException("in-flight accounting went negative: " + requests + " requests, "
                    + bytes + " bytes");
        }
        if (paused && requests < requestsMax / 2 && bytes < bytesMax / 2) {
            paused = false;
            tellSessions();
        }
    }

    private void tellSessions() {
        for (NbdSession s : new ArrayList<>(sessions)) {
            s.loadChanged();
        }
    }

    /** Requests in flight now. */
    public int requests() {
        return requests;
    }

    /** Bytes in flight now. */
    public long bytes() {
        return bytes;
    }

    /** The most bytes that were ever in flight at once. */
    public long bytesPeak() {
        return bytesPeak;
    }

    /** The most requests that were ever in flight at once. */
    public int requestsPeak() {
        return requestsPeak;
    }
}
