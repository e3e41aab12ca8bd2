package io.repl.agent.events;

import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.SyncProgress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Turns one resource's status publications into journal events: a {@code change} for each of
 * its objects whose state moved (the resource's role and held writes, the device's disk, the
 * connection and the peer's role, the peer-device's replication state and the peer's disk),
 * and, while a sync or verify runs, its progress at most every {@link #PROGRESS_NANOS}.
 *
 * <p>Called on the resource's loop (every state change) and on the journal's sampling timer;
 * it only compares and hands events to the sink, which never blocks.
 */
public final class StateEvents {
    /** The pace of progress events while a sync runs: enough to follow, few enough to keep. */
    static final long PROGRESS_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final String resource;
    private final EventSink sink;
    private final Clock clock;
    private CoreStatus last;
    private long lastProgressNanos;

    public StateEvents(String resource, EventSink sink, Clock clock) {
        this.resource = resource;
        this.sink = sink;
        this.clock = clock;
    }

    /** A status the core published: an event for each object whose state changed. */
    public synchronized void onStatus(CoreStatus s) {
        for (Event e : changes(last, s)) {
            sink.publish(e);
        }
        if (s.sync() != null && (last == null || last.sync() == null)) {
            lastProgressNanos = System.nanoTime();
        }
        last = s;
    }

    /** The sampling timer: the progress of a running sync, at the pace of {@link #PROGRESS_NANOS}. */
    public synchronized void sample(CoreStatus s, long nowNanos) {
        if (s == null || s.sync() == null || nowNanos - lastProgressNanos < PROGRESS_NANOS) {
            return;
        }
        lastProgressNanos = nowNanos;
        sink.publish(event("change", "peer-device", peerDevice(s, true)));
    }

    List<Event> changes(CoreStatus before, CoreStatus s) {
        List<Event> out = new ArrayList<>();
        if (before == null || before.role() != s.role()
                || !Objects.equals(held(before), held(s))) {
            out.add(event("change", "resource", resourceFields(s)));
        }
        if (before == null || before.disk() != s.disk()) {
            out.add(event("change", "device", Map.of("disk", s.disk().displayName())));
        }
        if (before == null || before.connection() != s.connection() || before.peerRole() != s.peerRole()) {
            out.add(event("change", "connection", connection(s)));
        }
        if (before == null || before.replication() != s.replication() || before.peerDisk() != s.peerDisk()) {
            out.add(event("change", "peer-device", peerDevice(s, s.sync() != null)));
        }
        return out;
    }

    private static String held(CoreStatus s) {
        return s.failover() == null ? null : s.failover().heldReason();
    }

    private static Map<String, String> resourceFields(CoreStatus s) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("role", s.role().displayName());
        String held = held(s);
        f.put("suspended", held == null ? "no" : held);
        return f;
    }

    private static Map<String, String> connection(CoreStatus s) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("peer", s.peerName() == null ? "-" : s.peerName());
        f.put("connection", s.connection().displayName());
        f.put("role", s.peerRole() == null ? "Unknown" : s.peerRole().displayName());
        if (s.standAloneReason() != null) {
            f.put("reason", s.standAloneReason());
        }
        return f;
    }

    private static Map<String, String> peerDevice(CoreStatus s, boolean progress) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("peer", s.peerName() == null ? "-" : s.peerName());
        f.put("replication", s.replication().displayName());
        f.put("peer-disk", s.peerDisk() == null ? "DUnknown" : s.peerDisk().displayName());
        f.put("out-of-sync", Long.toString(s.outOfSyncBytes()));
        SyncProgress p = s.sync();
        if (progress && p != null) {
            f.put("done", String.format(java.util.Locale.ROOT, "%.1f", p.percent()));
            f.put("left", Long.toString(p.leftBytes()));
            f.put("rate", Long.toString(p.bytesPerSecond()));
        }
        return f;
    }

    private Event event(String verb, String object, Map<String, String> fields) {
        return new Event(clock.instant(), verb, object, resource, fields);
    }
}
