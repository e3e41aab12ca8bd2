package io.repl.agent.ctl;

import java.io.PrintWriter;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/** The human form of status, laid out like {@code drbdadm status}. */
final class StatusText {
    private StatusText() {}

    /** Built on first use, as few statuses need it: a formatter's classes cost a cold replctl. */
    private static final class Clock {
        static final DateTimeFormatter HH_MM_SS = DateTimeFormatter.ofPattern("HH:mm:ss");
    }

    static void print(JsonTree result, PrintWriter out) {
        print(result, out, false);
    }

    /** {@code bar}: a progress bar under a running sync (what {@code status --watch} redraws). */
    static void print(JsonTree result, PrintWriter out, boolean bar) {
        for (JsonTree r : result.path("resources")) {
            out.println(r.path("name").asText() + " role:" + r.path("role").asText());
            out.println("  disk:" + r.path("disk").asText()
                    + (r.hasNonNull("diskReason") ? " (" + r.path("diskReason").asText() + ")" : "")
                    + (r.hasNonNull("sizeBytes") ? " size:" + r.path("sizeBytes").asLong() : "")
                    + (r.hasNonNull("ioEngine") ? " io-engine:" + r.path("ioEngine").asText() : ""));
            JsonTree suspended = r.path("suspended");
            if (suspended.isObject()) {
                out.println("  writes held since " + clockTime(suspended.path("since").asText()) + ": "
                        + suspended.path("reason").asText());
            }
            JsonTree peer = r.path("peer");
            if (r.path("mayLoseWrites").asBoolean(false)) {
                out.println("  writing alone without fencing (dont-care): a failover to "
                        + (peer.isObject() ? peer.path("name").asText() : "the peer") + " would lose these writes");
            }
            if (r.path("quorum").isObject()) {
                out.println("  quorum: " + quorum(r.path("quorum"), r.path("fencing").asText()));
            }
            if (peer.isObject()) {
                out.println("  " + peer.path("name").asText() + " connection:" + r.path("connection").asText()
                        + " role:" + peer.path("role").asText());
                if (r.hasNonNull("connectionReason")) {
                    out.println("    why StandAlone: " + r.path("connectionReason").asText());
                }
                out.println("    replication:" + r.path("replication").asText() + " peer-disk:"
                        + peer.path("disk").asText()
                        + (r.path("outOfSyncBytes").asLong() > 0 ? " out-of-sync:" + r.path("outOfSyncBytes").asLong()
                        : ""));
                JsonTree sync = r.path("sync");
                if (sync.isObject()) {
                    out.println("        " + progress(sync));
                    if (bar) {
                        out.println("        " + bar(sync.path("percent").asDouble()));
                    }
                }
            } else if (r.path("standalone").asBoolean(false)) {
                out.println("  connection:StandAlone (no peer configured)");
            }
            if (r.hasNonNull("nbd")) {
                out.println("  nbd:" + r.path("nbd").asText() + " clients:" + r.path("clients").asInt());
            }
            if (r.hasNonNull("error")) {
                out.println("  error: " + r.path("error").asText());
            }
        }
    }

    /**
     * {@code done:45.3% rate:12.5MiB/s controller:16MiB/s in-flight:2MiB eta:0:12}: how far a sync
     * (or anything else that walks the device and reports progress) is, its measured rate, on the
     * pacing side the controller's rate and the bytes in flight, and the time left at that rate.
     */
    static String progress(JsonTree sync) {
        StringBuilder line = new StringBuilder("done:" + sync.path("percent").asText() + "%");
        if (sync.has("bytesPerSecond")) {
            line.append(" rate:").append(size(sync.path("bytesPerSecond").asLong())).append("/s");
        }
        if (sync.hasNonNull("controllerBytesPerSecond")) {
            line.append(" controller:").append(size(sync.path("controllerBytesPerSecond").asLong())).append("/s");
        }
        if (sync.hasNonNull("inFlightBytes")) {
            line.append(" in-flight:").append(size(sync.path("inFlightBytes").asLong()));
        }
        if (sync.has("etaSeconds")) {
            line.append(" eta:").append(sync.hasNonNull("etaSeconds") ? duration(sync.path("etaSeconds").asLong()) : "?");
        }
        return line.toString();
    }

    /** {@code [##########>.........]} for {@code percent} (0 to 100), 40 cells wide. */
    static String bar(double percent) {
        int width = 40;
        int full = (int) Math.max(0, Math.min(width, Math.floor(percent * width / 100)));
        StringBuilder b = new StringBuilder("[");
        b.append("#".repeat(full));
        if (full < width) {
            b.append('>').append(".".repeat(width - full - 1));
        }
        return b.append(']').toString();
    }

    /** Binary units with one decimal below 100: {@code 512B}, {@code 4KiB}, {@code 12.5MiB}, {@code 120GiB}. */
    static String size(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int i = 0;
        while (v >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        boolean whole = i == 0 || v >= 100 || v == Math.floor(v);
        return (whole ? String.valueOf(Math.round(v)) : String.format(java.util.Locale.ROOT, "%.1f", v)) + units[i];
    }

    /** {@code 0:42}, {@code 12:05}, {@code 3:02:09}. */
    static String duration(long seconds) {
        long h = seconds / 3600;
        long m = seconds / 60 % 60;
        long s = seconds % 60;
        return h > 0 ? String.format(java.util.Locale.ROOT, "%d:%02d:%02d", h, m, s)
                : String.format(java.util.Locale.ROOT, "%d:%02d", m, s);
    }

    /** {@code peer no, witness reachable (last answer; record ... held by ...)}, or the fencing without one. */
    static String quorum(JsonTree q, String fencing) {
        String peer = "peer " + (q.path("peer").asBoolean(false) ? "yes" : "no");
        JsonTree w = q.path("witness");
        if (!w.isObject()) {
            return peer + ", no witness, fencing:" + fencing;
        }
        List<String> said = new ArrayList<>();
        if (w.hasNonNull("lastAnswer")) {
            said.add(w.path("lastAnswer").asText());
        }
        if (w.hasNonNull("generation")) {
            List<String> holders = new ArrayList<>();
            w.path("holders").forEach(h -> holders.add(h.asText()));
            said.add("record " + w.path("generation").asText() + " held by "
                    + (holders.isEmpty() ? "nobody" : String.join(" and ", holders))
                    + (w.path("forced").asBoolean(false) ? ", forced" : ""));
        }
        return peer + ", witness " + (w.path("reachable").asBoolean(false) ? "reachable" : "unreachable")
                + " at " + w.path("address").asText() + (said.isEmpty() ? "" : " (" + String.join("; ", said) + ")");
    }

    /** {@code 12:51:40} from the ISO local date-time status gives; anything else as it is. */
    static String clockTime(String isoLocal) {
        try {
            return Clock.HH_MM_SS.format(LocalDateTime.parse(isoLocal));
        } catch (DateTimeParseException e) {
            return isoLocal;
        }
    }
}
