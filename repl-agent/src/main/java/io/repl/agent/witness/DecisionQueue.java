package io.repl.agent.witness;

import io.repl.core.uuid.GenerationUuids;
import io.repl.core.witness.WitnessCore;
import io.repl.core.witness.WitnessRecord;
import io.repl.core.witness.WitnessStore;
import io.repl.protocol.Message;
import io.repl.protocol.WitnessReport;
import io.repl.protocol.WitnessRequest;
import io.repl.protocol.WitnessVerdict;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The witness's one decision thread: every report and request of every resource goes through
 * the {@link WitnessCore} here, one at a time, so two nodes asking at the same moment are
 * decided in some order and never both granted. The core stores every change (with fsync)
 * before it returns, and only then is the verdict handed back, so an answer is never
 * forgotten by a crash.
 *
 * <p>Every decision is one log line with its reason; reports that change the record too, and
 * reports that change nothing at DEBUG.
 */
final class DecisionQueue implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DecisionQueue.class.getName());
    /** Far above what honest nodes queue (a report or a request now and then each). */
    static final int QUEUED_MAX = 1024;
    private static final long CLOSE_WAIT_MS = 10_000;

    /** Where a decision goes; called on the decision thread. */
    interface Reply {
        void verdict(WitnessVerdict v);

        /**
         * The record changed: {@code notice} (a verdict for no request) goes to the resource's
         * other node, so that what its status shows of the witness is not a stale answer.
         */
        void recordChanged(WitnessVerdict notice);

        /** No verdict: the record could not be read or stored, or the message was not a question. */
        void failed(String why);
    }

    private final WitnessCore core;
    /** Each resource's node names in node-id order, to name holders in the log. */
    private final Map<String, List<String>> nodes;
    private final ThreadPoolExecutor thread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(QUEUED_MAX), r -> {
                Thread t = new Thread(r, "witness-decisions");
                t.setDaemon(true);
                return t;
            });

    /** @param nodes each served resource's two node names, sorted (a name's index is its node id) */
    DecisionQueue(WitnessStore store, Map<String, List<String>> nodes) {
        this.core = new WitnessCore(store);
        this.nodes = Map.copyOf(nodes);
    }

    /**
     * Reads the record of every resource now, before any node is heard.
     *
     * @return the records that were read, by resource; the others are in {@code unreadable}
     *     with the reason, and must not be served
     */
    Map<String, WitnessRecord> load(Map<String, String> unreadable) {
        Collection<String> resources = nodes.keySet();
        try {
            return thread.submit(() -> {
                Map<String, WitnessRecord> ok = new TreeMap<>();
                for (String r : resources) {
                    try {
                        ok.put(r, core.record(r));
                    } catch (UncheckedIOException e) {
                        unreadable.put(r, e.getCause().getMessage());
                    }
                }
                return ok;
            }).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading the witness records", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("reading the witness records failed", e.getCause());
        }
    }

    /**
     * Queues a report or request of {@code node} (node id {@code nodeId}) on {@code resource}.
     *
     * @return false when {@link #QUEUED_MAX} messages wait already: the sender floods us
     */
    boolean submit(String resource, String node, int nodeId, Message m, Reply reply) {
        try {
            thread.execute(() -> decide(resource, node, nodeId, m, reply));
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    private void decide(String resource, String node, int nodeId, Message m, Reply reply) {
        String prefix = "witness " + resource + ": ";
        WitnessVerdict v;
        WitnessRecord before;
        try {
            before = core.record(resource);
            if (m instanceof WitnessReport report) {
                v = core.onReport(resource, nodeId, report);
            } else if (m instanceof WitnessRequest request) {
                v = core.onRequest(resource, nodeId, request);
            } else {
                reply.failed(m.type() + " is not a question for the witness");
                return;
            }
        } catch (UncheckedIOException e) {
            LOG.log(Level.ERROR, prefix + node + " " + describe(m) + ": no answer: " + e.getMessage() + ": "
                    + e.getCause().getMessage());
            reply.failed("the witness cannot store its record; it answers nothing rather than something it "
                    + "could forget");
            return;
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, prefix + node + " " + describe(m) + ": no answer: the decision failed", e);
            reply.failed("the witness failed to decide: " + e);
            return;
        }
        boolean changed = !before.equals(core.record(resource));
        Level level = m instanceof WitnessRequest || changed ? Level.INFO : Level.DEBUG;
        if (LOG.isLoggable(level)) {
            LOG.log(level, prefix + node + " " + describe(m) + ": " + v.outcome() + " (" + v.detail() + ")"
                    + (changed ? "; record now " + describe(core.record(resource), nodes.get(resource)) : ""));
        }
        reply.verdict(v);
        if (changed) {
            WitnessRecord now = core.record(resource);
            reply.recordChanged(new WitnessVerdict(0, WitnessVerdict.Outcome.GRANTED, now.generation(), now.holders(),
                    now.forced() ? WitnessVerdict.FORCED : 0, "record now "
                    + describe(now, nodes.get(resource)) + " (after " + node + "'s " + kind(m) + ")"));
        }
    }

    private static String kind(Message m) {
        return m instanceof WitnessRequest r ? r.kind().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
                : "report";
    }

    /** Stops taking messages and waits (with a deadline) for the ones queued. */
    @Override
    public void close() {
        thread.shutdown();
        try {
            if (!thread.awaitTermination(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS)) {
                LOG.log(Level.WARNING, "witness: decisions still running after " + CLOSE_WAIT_MS + " ms; not waiting");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code OUTDATE_PEER 00000000000000A1->00000000000000A2 (request 7)} or {@code REPORT 00000000000000A1 in sync}. */
    static String describe(Message m) {
        if (m instanceof WitnessRequest r) {
            return r.kind() + " " + hex(r.previous()) + "->" + hex(r.next())
                    + (r.has(WitnessRequest.IN_SYNC) ? " in sync" : "") + " (request " + r.requestId() + ")";
        }
        if (m instanceof WitnessReport r) {
            return "REPORT " + hex(r.current()) + (r.has(WitnessReport.IN_SYNC) ? " in sync" : " not in sync");
        }
        return m.type().toString();
    }

    /** {@code 00000000000000A2 held by alpha, forced}, for the log; {@code none} for no record. */
    static String describe(WitnessRecord r, List<String> nodes) {
        if (r.empty()) {
            return "none (no generation yet)";
        }
        List<String> holders = new ArrayList<>();
        for (int id = 0; id < nodes.size(); id++) {
            if (r.holds(id)) {
                holders.add(nodes.get(id));
            }
        }
        return hex(r.generation()) + " held by " + String.join(" and ", holders) + (r.forced() ? " (forced)" : "");
    }

    private static String hex(long uuid) {
        return GenerationUuids.hex(uuid);
    }
}
