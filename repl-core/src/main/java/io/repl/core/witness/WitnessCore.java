package io.repl.core.witness;

import io.repl.core.uuid.GenerationUuids;
import io.repl.protocol.WitnessReport;
import io.repl.protocol.WitnessRequest;
import io.repl.protocol.WitnessVerdict;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * The witness's decisions (docs/FAILOVER.md, section 5), as a pure function of its records and
 * one message at a time: reports move a record forward while a pair is in sync, requests
 * grant one node the right to write alone. Callers serialise calls; every change is stored
 * through the {@link WitnessStore} before the verdict is returned.
 *
 * <p>Why it is safe: a node writes alone only with a grant, and a grant names one holder and
 * starts a new generation. The other node becomes a holder again only by reporting that
 * generation from a connected, in-sync pair, which means it holds every write acknowledged so
 * far; a late report of an older generation is recognised by the record's ancestry.
 */
public final class WitnessCore {
    private static final int NODES = 2;

    private final WitnessStore store;
    private final Map<String, WitnessRecord> records = new TreeMap<>();
    /** In-sync reports that wait for the other node's (no record, or an unrelated generation). */
    private final Map<String, long[]> waitingReports = new TreeMap<>();

    public WitnessCore(WitnessStore store) {
        this.store = store;
    }

    /** The record of {@code resource} as it stands. */
    public WitnessRecord record(String resource) {
        return records.computeIfAbsent(resource, r -> {
            try {
                return store.load(r);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the witness record of " + r, e);
            }
        });
    }

    /** A node reported its generation. {@code nodeId} is 0 or 1 (the sorted order of the node names). */
    public WitnessVerdict onReport(String resource, int nodeId, WitnessReport report) {
        checkNode(nodeId);
        WitnessRecord now = record(resource);
        if (!report.has(WitnessReport.IN_SYNC)) {
            return verdict(0, WitnessVerdict.Outcome.IGNORED, now, "only a report from an in-sync pair counts");
        }
        long current = report.current();
        int both = (1 << NODES) - 1;
        if (now.generation() == current) {
            if (now.holders() == both) {
                return verdict(0, WitnessVerdict.Outcome.GRANTED, now, "both nodes hold " + hex(current));
            }
            return save(resource, 0, new WitnessRecord(current, both, now.ancestry(), false),
                    "both nodes hold " + hex(current) + " again");
        }
        if (now.knows(current)) {
            return verdict(0, WitnessVerdict.Outcome.IGNORED, now, hex(current) + " is older than the record's "
                    + hex(now.generation()));
        }
        if (!now.empty() && report.descendsFrom(now.generation())) {
            return save(resource, 0, now.movedTo(current, both, false), "the pair moved from "
                    + hex(now.generation()) + " to " + hex(current) + " in sync");
        }
        // No record, or a generation unrelated to it: both nodes must say so.
        long[] waiting = waitingReports.computeIfAbsent(resource, r -> new long[NODES]);
        waiting[nodeId] = current;
        if (waiting[1 - nodeId] != current) {
            return verdict(0, WitnessVerdict.Outcome.IGNORED, now, "waiting for the other node to report "
                    + hex(current) + (now.empty() ? " (no record yet)" : ""));
        }
        waitingReports.remove(resource);
        return save(resource, 0, now.movedTo(current, both, false), "both nodes reported " + hex(current));
    }

    /** A node asks to write alone, to be promoted, or tells of a forced promotion. */
    public WitnessVerdict onRequest(String resource, int nodeId, WitnessRequest request) {
        checkNode(nodeId);
        WitnessRecord now = record(resource);
        long id = request.requestId();
        int me = 1 << nodeId;
        if (request.kind() == WitnessRequest.Kind.RESUME && !now.empty() && !now.holds(nodeId)) {
            // The operator vouched that the peer cannot be promoted, but it was granted since:
            // writing alone now would make a second Primary.
            return notAHolder(id, now, "this node may not resume alone");
        }
        if (request.kind() == WitnessRequest.Kind.RESUME) {
            return save(resource, id, now.movedTo(request.next(), me, true), "resumed by an operator on node "
                    + nodeId + ": " + hex(request.next()) + " is held by that node alone");
        }
        if (request.kind() == WitnessRequest.Kind.FORCED) {
            return save(resource, id, now.movedTo(request.next(), me, true), "forced by an operator on node "
                    + nodeId + ": " + hex(request.next()) + " is held by that node alone");
        }
        if (now.empty()) {
            return verdict(id, WitnessVerdict.Outcome.NO_RECORD, now,
                    "no record yet: both nodes must report from an in-sync pair first");
        }
        if (now.generation() == request.next() && now.holders() == me) {
            return verdict(id, WitnessVerdict.Outcome.GRANTED, now, "granted already: " + hex(now.generation())
                    + " is held by this node alone");
        }
        if (!now.holds(nodeId) && request.has(WitnessRequest.IN_SYNC) && now.generation() == request.previous()) {
            // The sender held the record's own generation in sync with its peer until the loss:
            // a report the witness missed. No grant can have excluded it, since every grant
            // moves the record to a new generation.
            now = new WitnessRecord(now.generation(), now.holders() | me, now.ancestry(), now.forced());
        }
        if (!now.holds(nodeId)) {
            return notAHolder(id, now, "this node does not");
        }
        if (now.generation() != request.previous()) {
            return verdict(id, WitnessVerdict.Outcome.UNKNOWN_GENERATION, now, "the record is at "
                    + hex(now.generation()) + ", not at " + hex(request.previous()) + " as the request says");
        }
        String what = request.kind() == WitnessRequest.Kind.PROMOTE ? "promoted" : "writes alone";
        return save(resource, id, now.movedTo(request.next(), me, false), "node " + nodeId + " " + what + " in "
                + hex(request.next()) + "; the other node is outdated");
    }

    /** The sender is not a holder: the other node was granted since (or forced its way). */
    private static WitnessVerdict notAHolder(long id, WitnessRecord now, String consequence) {
        WitnessVerdict.Outcome outcome = now.forced() ? WitnessVerdict.Outcome.FORCED_ELSEWHERE
                : WitnessVerdict.Outcome.DEPOSED;
        return verdict(id, outcome, now, "the other node holds the newest generation " + hex(now.generation())
                + (now.forced() ? " after an operator's --force" : "") + "; " + consequence);
    }

    private WitnessVerdict save(String resource, long requestId, WitnessRecord next, String detail) {
        try {
            store.save(resource, next);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store the witness record of " + resource
                    + "; answering nothing rather than something it could forget", e);
        }
        records.put(resource, next);
        return verdict(requestId, WitnessVerdict.Outcome.GRANTED, next, detail);
    }

    private static WitnessVerdict verdict(long requestId, WitnessVerdict.Outcome outcome, WitnessRecord record,
                                          String detail) {
        return new WitnessVerdict(requestId, outcome, record.generation(), record.holders(),
                record.forced() ? WitnessVerdict.FORCED : 0, detail);
    }

    private static void checkNode(int nodeId) {
        if (nodeId < 0 || nodeId >= NODES) {
            throw new IllegalArgumentException("node id " + nodeId + " is not 0 or 1");
        }
    }

    private static String hex(long uuid) {
        return GenerationUuids.hex(uuid);
    }
}
