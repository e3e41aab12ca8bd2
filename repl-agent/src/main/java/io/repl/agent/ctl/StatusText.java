package io.repl.agent.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/** The human form of status, laid out like {@code drbdadm status}. */
final class StatusText {
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

    private StatusText() {}

    static void print(JsonNode result, PrintWriter out) {
        for (JsonNode r : result.path("resources")) {
            out.println(r.path("name").asText() + " role:" + r.path("role").asText());
            out.println("  disk:" + r.path("disk").asText()
                    + (r.hasNonNull("diskReason") ? " (" + r.path("diskReason").asText() + ")" : "")
                    + (r.hasNonNull("sizeBytes") ? " size:" + r.path("sizeBytes").asLong() : "")
                    + (r.hasNonNull("ioEngine") ? " io-engine:" + r.path("ioEngine").asText() : ""));
            JsonNode suspended = r.path("suspended");
            if (suspended.isObject()) {
                out.println("  writes held since " + clockTime(suspended.path("since").asText()) + ": "
                        + suspended.path("reason").asText());
            }
            JsonNode peer = r.path("peer");
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
                JsonNode sync = r.path("sync");
                if (sync.isObject()) {
                    out.println("        done:" + sync.path("percent").asText() + "%");
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

    /** {@code peer no, witness reachable (last answer; record ... held by ...)}, or the fencing without one. */
    static String quorum(JsonNode q, String fencing) {
        String peer = "peer " + (q.path("peer").asBoolean(false) ? "yes" : "no");
        JsonNode w = q.path("witness");
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
            return CLOCK.format(LocalDateTime.parse(isoLocal));
        } catch (DateTimeParseException e) {
            return isoLocal;
        }
    }
}
