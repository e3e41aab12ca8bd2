package io.repl.agent.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;

/** The human form of status, laid out like {@code drbdadm status}. */
final class StatusText {
    private StatusText() {}

    static void print(JsonNode result, PrintWriter out) {
        for (JsonNode r : result.path("resources")) {
            out.println(r.path("name").asText() + " role:" + r.path("role").asText());
            out.println("  disk:" + r.path("disk").asText()
                    + (r.hasNonNull("sizeBytes") ? " size:" + r.path("sizeBytes").asLong() : "")
                    + (r.hasNonNull("ioEngine") ? " io-engine:" + r.path("ioEngine").asText() : ""));
            JsonNode peer = r.path("peer");
            if (peer.isObject()) {
                out.println("  " + peer.path("name").asText() + " connection:" + r.path("connection").asText()
                        + " role:" + peer.path("role").asText());
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
}
