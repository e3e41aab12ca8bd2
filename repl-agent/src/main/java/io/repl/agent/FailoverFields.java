package io.repl.agent;

import io.repl.agent.config.ConfigLoader;
import io.repl.agent.config.ResourceConfig;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.FailoverStatus;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The failover part of {@code replctl status --json} (docs/FAILOVER.md, section 7): the
 * fencing policy, quorum (peer and witness), why the disk is what it is, whether writes are
 * held, and whether writes made alone could be lost. The core stamps its events with the
 * monotonic clock; status shows them on the wall clock.
 */
final class FailoverFields {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");
    private static final DateTimeFormatter DAY_AND_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    /**
     * The two clocks read at one moment, to turn a core stamp ({@link System#nanoTime()})
     * into a local date and time.
     */
    record Clocks(long nowNanos, Instant now, ZoneId zone) {
        static Clocks system() {
            return new Clocks(System.nanoTime(), Instant.now(), ZoneId.systemDefault());
        }

        LocalDateTime at(long stampNanos) {
            return LocalDateTime.ofInstant(now.minusNanos(nowNanos - stampNanos), zone).truncatedTo(ChronoUnit.SECONDS);
        }

        /** {@code 12:51:36} today, with the date on any other day. */
        String spoken(long stampNanos) {
            LocalDateTime t = at(stampNanos);
            boolean today = t.toLocalDate().equals(LocalDateTime.ofInstant(now, zone).toLocalDate());
            return (today ? TIME : DAY_AND_TIME).format(t);
        }
    }

    private FailoverFields() {
    }

    /**
     * Adds {@code fencing}, {@code quorum}, {@code diskReason}, {@code suspended} and
     * {@code mayLoseWrites} to {@code m}.
     *
     * @param config null when the resource's file could not be read
     * @param core null while the resource is down or standalone
     */
    static void addTo(Map<String, Object> m, ResourceConfig config, CoreStatus core, Clocks clocks) {
        FailoverStatus f = core == null ? null : core.failover();
        m.put("fencing", f != null ? ConfigLoader.spelling(f.fencing())
                : config != null ? ConfigLoader.spelling(config.disk().fencing()) : null);
        m.put("quorum", config == null || config.standalone() ? null : quorum(config, core));
        m.put("diskReason", f == null || f.diskNote() == null ? null
                : f.diskNote() + (f.diskNoteNanos() == 0 ? "" : ", at " + clocks.spoken(f.diskNoteNanos())));
        Map<String, Object> suspended = null;
        if (f != null && f.heldReason() != null) {
            suspended = new LinkedHashMap<>();
            suspended.put("reason", f.heldReason());
            suspended.put("since", clocks.at(f.heldSinceNanos()).toString());
        }
        m.put("suspended", suspended);
        m.put("mayLoseWrites", f != null && f.mayLoseWrites());
    }

    private static Map<String, Object> quorum(ResourceConfig config, CoreStatus core) {
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("peer", core != null && core.connection() == ConnectionState.CONNECTED);
        q.put("witness", config.witness().map(w -> witness(config, w, core == null ? null
                : core.failover().witness())).orElse(null));
        return q;
    }

    private static Map<String, Object> witness(ResourceConfig config, ResourceConfig.Witness w,
                                               FailoverStatus.WitnessView view) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("address", w.address().toString());
        m.put("reachable", view != null && view.reachable());
        m.put("lastAnswer", view == null ? null : view.lastAnswer());
        m.put("generation", view == null || view.generation() == 0 ? null
                : String.format("%016X", view.generation()));
        m.put("holders", view == null ? List.of() : holders(config, view.holders()));
        m.put("forced", view != null && view.forced());
        return m;
    }

    /** The nodes named by a holder bitmask; a node's id is its place among the sorted node names. */
    static List<String> holders(ResourceConfig config, int mask) {
        List<String> sorted = new ArrayList<>(new TreeSet<>(config.nodes().keySet()));
        List<String> out = new ArrayList<>();
        for (int id = 0; id < 32; id++) {
            if ((mask & (1 << id)) != 0) {
                out.add(id < sorted.size() ? sorted.get(id) : "node " + id);
            }
        }
        return out;
    }
}
