package io.repl.protocol;

import java.nio.charset.StandardCharsets;

/**
 * WITNESS_VERDICT: the witness's answer to a request or a report, with the record as it stands
 * after the answer (so a node can show it in status).
 *
 * @param requestId the request answered, or 0 for an answer to a report
 * @param outcome the decision
 * @param generation the record's generation after the decision, 0 if it has none
 * @param holders the record's holders as a bit set of node ids (bit i = node id i)
 * @param flags {@link #FORCED}
 * @param detail a sentence for the operator, at most 512 UTF-8 bytes, no control characters
 */
public record WitnessVerdict(long requestId, Outcome outcome, long generation, int holders, int flags, String detail)
        implements Message {
    /** The record's last change came from an operator's --force. */
    public static final int FORCED = 1;
    public static final int FLAGS_KNOWN = FORCED;
    static final int FIXED_BYTES = 4 + 1 + 1 + 2 + 8 + 2 + 2;
    public static final int BODY_BYTES_MAX = FIXED_BYTES + Limits.DETAIL_BYTES_MAX;

    /** What the witness decided. */
    public enum Outcome {
        /** Granted (a request) or taken into the record (a report). */
        GRANTED(0),
        /** The sender is not among the holders: the other node was granted since. */
        DEPOSED(1),
        /** The witness has no record yet: both nodes must report first. */
        NO_RECORD(2),
        /** The record is at a generation the sender does not claim to share. */
        UNKNOWN_GENERATION(3),
        /** A report that changed nothing (older, or not in sync). */
        IGNORED(4),
        /** The sender is not a holder because an operator forced the other node. */
        FORCED_ELSEWHERE(5);

        private final int code;

        Outcome(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        static Outcome fromCode(String field, int code) {
            for (Outcome o : values()) {
                if (o.code == code) {
                    return o;
                }
            }
            throw new ProtocolException(field, "unknown outcome " + code + "; known are 0..5");
        }
    }

    public WitnessVerdict {
        Check.range("WITNESS_VERDICT.requestId", requestId, 0, 0xFFFF_FFFFL);
        Check.present("WITNESS_VERDICT.outcome", outcome);
        Check.range("WITNESS_VERDICT.holders", holders, 0, 0xFFFF);
        Check.knownFlags("WITNESS_VERDICT.flags", flags, FLAGS_KNOWN);
        Check.text("WITNESS_VERDICT.detail", detail, Limits.DETAIL_BYTES_MAX);
    }

    public boolean granted() {
        return outcome == Outcome.GRANTED;
    }

    /** Whether node {@code nodeId} is a holder of the record. */
    public boolean holds(int nodeId) {
        return nodeId >= 0 && nodeId < 16 && (holders & (1 << nodeId)) != 0;
    }

    @Override
    public MessageType type() {
        return MessageType.WITNESS_VERDICT;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u32(requestId);
        body.u8(outcome.code());
        body.zeros(1);
        body.u16(holders);
        body.u64(generation);
        body.u16(flags);
        body.text(detail.getBytes(StandardCharsets.UTF_8));
    }

    static WitnessVerdict decode(BodyReader r) {
        long id = r.u32("requestId");
        Outcome outcome = Outcome.fromCode(r.field("outcome"), r.u8("outcome"));
        r.reserved("reserved", 1);
        int holders = r.u16("holders");
        long generation = r.u64("generation");
        int flags = r.u16("flags");
        String detail = r.text("detail", Limits.DETAIL_BYTES_MAX);
        r.end();
        return new WitnessVerdict(id, outcome, generation, holders, flags, detail);
    }
}
