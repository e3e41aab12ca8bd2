package io.repl.core.sim;

import io.repl.core.witness.WitnessCore;
import io.repl.core.witness.WitnessRecord;
import io.repl.core.witness.WitnessStore;
import io.repl.protocol.Message;
import io.repl.protocol.WitnessReport;
import io.repl.protocol.WitnessRequest;
import io.repl.protocol.WitnessVerdict;
import java.util.ArrayDeque;
import java.util.TreeMap;

/**
 * The witness as a simulated participant: the real {@link WitnessCore} over a store that is
 * durable the moment {@code save} returns (as the real one is after its fsync). A crash loses
 * only what the core kept in memory (reports waiting for the other node), and every
 * connection.
 */
final class SimWitness {
    static final String RESOURCE = "r0";

    /** Durable records: survive every crash of the witness. */
    private static final class DurableStore implements WitnessStore {
        private final TreeMap<String, WitnessRecord> saved = new TreeMap<>();

        @Override
        public WitnessRecord load(String resource) {
            return saved.getOrDefault(resource, WitnessRecord.NONE);
        }

        @Override
        public void save(String resource, WitnessRecord record) {
            saved.put(resource, record);
        }
    }

    private final DurableStore store = new DurableStore();
    private final ArrayDeque<String> log;
    private WitnessCore core = new WitnessCore(store);
    private boolean up = true;
    private int incarnation;
    long decisions;
    long grants;
    long crashes;

    SimWitness(ArrayDeque<String> log) {
        this.log = log;
    }

    boolean up() {
        return up;
    }

    int incarnation() {
        return incarnation;
    }

    WitnessRecord record() {
        return core.record(RESOURCE);
    }

    void crash() {
        up = false;
        incarnation++;
        crashes++;
        core = null;
    }

    void restart() {
        up = true;
        core = new WitnessCore(store);
    }

    /** One decision for a message from node {@code nodeId}; null for messages it does not answer. */
    WitnessVerdict decide(int nodeId, Message message) {
        WitnessVerdict verdict;
        if (message instanceof WitnessReport report) {
            verdict = core.onReport(RESOURCE, nodeId, report);
        } else if (message instanceof WitnessRequest request) {
            verdict = core.onRequest(RESOURCE, nodeId, request);
            decisions++;
            if (verdict.granted()) {
                grants++;
            }
        } else {
            throw new IllegalStateException("the witness got " + message.type());
        }
        log.addLast("witness: node " + nodeId + " " + message + " -> " + verdict.outcome() + " "
                + verdict.detail());
        while (log.size() > 40) {
            log.pollFirst();
        }
        return verdict;
    }
}
