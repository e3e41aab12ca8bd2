package io.repl.agent;

import io.repl.agent.meta.FileMetaDevice;
import io.repl.agent.metrics.Exposition;
import io.repl.agent.metrics.Exposition.Type;
import io.repl.agent.nbd.NbdCounters;
import io.repl.agent.peer.PeerCounters;
import io.repl.agent.peer.PeerLink;
import io.repl.agent.peer.PeerSession;
import io.repl.agent.replication.CoreDriver;
import io.repl.core.metadata.Metadata;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import java.util.Collection;
import java.util.Map;

/**
 * The agent's metrics (docs/OPERATIONS.md, section 8): for every resource its states, its
 * progress and the counters its export, peer link, metadata and handlers keep anyway. A
 * scrape reads them and changes nothing; nothing here runs on a resource's event loop.
 */
final class ResourceMetrics {
    private ResourceMetrics() {
    }

    /** The whole scrape. */
    static String scrape(Collection<Resource> resources, Map<String, long[]> handlerRuns) {
        Exposition x = new Exposition();
        declare(x);
        for (Resource r : resources) {
            write(x, r);
        }
        handlerRuns.forEach((name, c) -> {
            int slash = name.indexOf('/');
            String res = slash < 0 ? "" : name.substring(0, slash);
            String handler = name.substring(slash + 1);
            x.sample("repl_handler_runs_total", c[0], "resource", res, "handler", handler);
            x.sample("repl_handler_failures_total", c[1], "resource", res, "handler", handler);
        });
        return x.text();
    }

    private static void declare(Exposition x) {
        x.family("repl_resource_up", Type.GAUGE, "1 while the resource is up (disk attached, export served)");
        x.family("repl_role", Type.GAUGE, "the node's role: 1 for the current one");
        x.family("repl_disk_state", Type.GAUGE, "the local disk state: 1 for the current one");
        x.family("repl_connection_state", Type.GAUGE, "the connection state: 1 for the current one");
        x.family("repl_replication_state", Type.GAUGE, "the replication state: 1 for the current one");
        x.family("repl_peer_role", Type.GAUGE, "the peer's role as last seen: 1 for it; all 0 while unknown");
        x.family("repl_peer_disk_state", Type.GAUGE, "the peer's disk state as last seen: 1 for it; all 0 while unknown");
        x.family("repl_out_of_sync_bytes", Type.GAUGE, "bytes marked out of sync with the peer");
        x.family("repl_sync_progress_ratio", Type.GAUGE, "the running resync's or verify's progress, 0 to 1");
        x.family("repl_sync_left_bytes", Type.GAUGE, "bytes the running resync or verify has left");
        x.family("repl_sync_total_bytes", Type.GAUGE, "bytes the running resync or verify covers");
        x.family("repl_sync_rate_bytes_per_second", Type.GAUGE,
                "the running resync's or verify's measured rate over the last 3 s");
        x.family("repl_sync_controller_rate_bytes_per_second", Type.GAUGE,
                "the rate the resync controller steers to (on the SyncTarget)");
        x.family("repl_nbd_clients", Type.GAUGE, "NBD clients connected to the export");
        x.family("repl_nbd_requests_total", Type.COUNTER, "NBD requests answered, by command");
        x.family("repl_nbd_request_bytes_total", Type.COUNTER,
                "bytes of the NBD requests answered successfully, by command (a trim's or zeroing's length)");
        x.family("repl_nbd_request_errors_total", Type.COUNTER, "NBD requests answered with an error, by command");
        x.family("repl_nbd_request_duration_seconds", Type.HISTOGRAM,
                "time from decoding an NBD request to queueing its reply, by command");
        x.family("repl_peer_sent_bytes_total", Type.COUNTER, "frame bytes queued to the peer, as on the wire");
        x.family("repl_peer_received_bytes_total", Type.COUNTER, "frame bytes received from the peer");
        x.family("repl_peer_sent_messages_total", Type.COUNTER, "frames queued to the peer");
        x.family("repl_peer_received_messages_total", Type.COUNTER, "frames received from the peer");
        x.family("repl_peer_sent_block_bytes_total", Type.COUNTER,
                "uncompressed block bytes of DATA, RS_DATA and CSUM_REPLY sent");
        x.family("repl_peer_received_block_bytes_total", Type.COUNTER,
                "uncompressed block bytes of DATA, RS_DATA and CSUM_REPLY received");
        x.family("repl_peer_resync_sent_bytes_total", Type.COUNTER, "frame bytes of resync messages sent");
        x.family("repl_peer_resync_received_bytes_total", Type.COUNTER, "frame bytes of resync messages received");
        x.family("repl_peer_compression_ratio", Type.GAUGE,
                "uncompressed block bytes sent over all frame bytes sent; above 1 once LZ4 saves more than headers cost");
        x.family("repl_peer_send_queue_bytes", Type.GAUGE,
                "bytes written to the peer connection that the socket has not taken yet");
        x.family("repl_peer_handshake_failures_total", Type.COUNTER,
                "peer connections that ended before authentication");
        x.family("repl_al_misses_total", Type.COUNTER,
                "activity log extents made hot for writes that found them cold (since up)");
        x.family("repl_al_transactions_total", Type.COUNTER,
                "activity log transactions written; one serves every cold extent of a burst (since up)");
        x.family("repl_metadata_writes_total", Type.COUNTER, "metadata blocks written (since up)");
        x.family("repl_metadata_flushes_total", Type.COUNTER, "flushes of the metadata (since up)");
        x.family("repl_handler_runs_total", Type.COUNTER, "handler runs that ended, by handler");
        x.family("repl_handler_failures_total", Type.COUNTER,
                "handler runs that failed (non-zero exit, killed at the deadline, not started), by handler");
    }

    private static void write(Exposition x, Resource r) {
        String n = r.name();
        Map<String, Object> s = r.status();
        boolean up = r.isUp();
        x.sample("repl_resource_up", up ? 1 : 0, "resource", n);
        for (Role v : Role.values()) {
            x.sample("repl_role", v.displayName().equals(s.get("role")) ? 1 : 0, "resource", n, "role", v.displayName());
        }
        for (DiskState v : DiskState.values()) {
            x.sample("repl_disk_state", v.displayName().equals(s.get("disk")) ? 1 : 0, "resource", n, "state",
                    v.displayName());
        }
        for (ConnectionState v : ConnectionState.values()) {
            x.sample("repl_connection_state", v.displayName().equals(s.get("connection")) ? 1 : 0, "resource", n,
                    "state", v.displayName());
        }
        for (ReplicationState v : ReplicationState.values()) {
            x.sample("repl_replication_state", v.displayName().equals(s.get("replication")) ? 1 : 0, "resource", n,
                    "state", v.displayName());
        }
        if (s.get("peer") instanceof Map<?, ?> peer) {
            for (Role v : Role.values()) {
                x.sample("repl_peer_role", v.displayName().equals(peer.get("role")) ? 1 : 0, "resource", n, "role",
                        v.displayName());
            }
            for (DiskState v : DiskState.values()) {
                x.sample("repl_peer_disk_state", v.displayName().equals(peer.get("disk")) ? 1 : 0, "resource", n,
                        "state", v.displayName());
            }
        }
        x.sample("repl_out_of_sync_bytes", ((Number) s.get("outOfSyncBytes")).doubleValue(), "resource", n);
        if (s.get("sync") instanceof Map<?, ?> sync) {
            String kind = String.valueOf(s.get("replication")).startsWith("Verify") ? "verify" : "resync";
            x.sample("repl_sync_progress_ratio", ((Number) sync.get("percent")).doubleValue() / 100, "resource", n,
                    "kind", kind);
            x.sample("repl_sync_left_bytes", ((Number) sync.get("leftBytes")).doubleValue(), "resource", n, "kind", kind);
            x.sample("repl_sync_total_bytes", ((Number) sync.get("totalBytes")).doubleValue(), "resource", n, "kind",
                    kind);
            x.sample("repl_sync_rate_bytes_per_second", ((Number) sync.get("bytesPerSecond")).doubleValue(),
                    "resource", n, "kind", kind);
            if (sync.get("controllerBytesPerSecond") instanceof Number c) {
                x.sample("repl_sync_controller_rate_bytes_per_second", c.doubleValue(), "resource", n);
            }
        }
        x.sample("repl_nbd_clients", ((Number) s.get("clients")).doubleValue(), "resource", n);
        nbd(x, n, r.counters());
        CoreDriver d = r.driver();
        PeerLink link = d == null ? null : d.link();
        if (link != null) {
            peer(x, n, link);
        }
        Metadata md = r.metadata();
        if (md != null) {
            x.sample("repl_al_misses_total", md.activityLog().misses(), "resource", n);
            x.sample("repl_al_transactions_total", md.activityLog().transactions(), "resource", n);
        }
        FileMetaDevice dev = r.metaDevice();
        if (dev != null) {
            x.sample("repl_metadata_writes_total", dev.writes(), "resource", n);
            x.sample("repl_metadata_flushes_total", dev.flushes(), "resource", n);
        }
    }

    private static void nbd(Exposition x, String n, NbdCounters c) {
        for (NbdCounters.Op op : NbdCounters.Op.values()) {
            String o = op.label();
            x.sample("repl_nbd_requests_total", c.requests(op), "resource", n, "op", o);
            x.sample("repl_nbd_request_bytes_total", c.bytes(op), "resource", n, "op", o);
            x.sample("repl_nbd_request_errors_total", c.errors(op), "resource", n, "op", o);
            long[] b = c.cumulativeBuckets(op);
            for (int i = 0; i < b.length; i++) {
                double le = i < NbdCounters.BUCKET_SECONDS.length ? NbdCounters.BUCKET_SECONDS[i]
                        : Double.POSITIVE_INFINITY;
                x.sample("repl_nbd_request_duration_seconds", "_bucket", b[i], "resource", n, "op", o, "le",
                        Exposition.le(le));
            }
            x.sample("repl_nbd_request_duration_seconds", "_sum", c.latencySumNanos(op) / 1e9, "resource", n, "op", o);
            x.sample("repl_nbd_request_duration_seconds", "_count", b[b.length - 1], "resource", n, "op", o);
        }
    }

    private static void peer(Exposition x, String n, PeerLink link) {
        PeerCounters t = link.counters();
        x.sample("repl_peer_sent_bytes_total", t.bytesOut(), "resource", n);
        x.sample("repl_peer_received_bytes_total", t.bytesIn(), "resource", n);
        x.sample("repl_peer_sent_messages_total", t.messagesOut(), "resource", n);
        x.sample("repl_peer_received_messages_total", t.messagesIn(), "resource", n);
        x.sample("repl_peer_sent_block_bytes_total", t.blockBytesOut(), "resource", n);
        x.sample("repl_peer_received_block_bytes_total", t.blockBytesIn(), "resource", n);
        x.sample("repl_peer_resync_sent_bytes_total", t.resyncBytesOut(), "resource", n);
        x.sample("repl_peer_resync_received_bytes_total", t.resyncBytesIn(), "resource", n);
        x.sample("repl_peer_compression_ratio", t.bytesOut() == 0 ? 0 : (double) t.blockBytesOut() / t.bytesOut(),
                "resource", n);
        PeerSession session = link.session();
        x.sample("repl_peer_send_queue_bytes", session == null ? 0 : session.pendingOutboundBytes(), "resource", n);
        x.sample("repl_peer_handshake_failures_total", link.handshakeFailures(), "resource", n);
    }
}
