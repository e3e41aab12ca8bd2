package io.repl.protocol;

/**
 * WITNESS_REQUEST: a node asks the witness for a decision, or tells it of a forced promotion.
 * Every kind moves the witness's record from generation {@code previous} to {@code next}, with
 * the sender as the only holder, if the witness agrees (see docs/FAILOVER.md).
 *
 * @param requestId echoed by the verdict, so a late answer to an old request is recognised
 * @param kind what is asked
 * @param flags {@link #IN_SYNC}
 * @param previous the generation the sender shared with its peer; 0 when it has no older
 *     generation at all (a volume forced into its first generation)
 * @param next the sender's new generation, not 0 and not {@code previous}
 */
public record WitnessRequest(long requestId, Kind kind, int flags, long previous, long next) implements Message {
    public static final int BODY_BYTES = 4 + 1 + 1 + 2 + 8 + 8;
    /**
     * The sender held {@code previous} in sync with its peer (connected, both UpToDate) until
     * it lost the peer: as good as a report of {@code previous}, which the witness may have
     * missed while the sender could not reach it.
     */
    public static final int IN_SYNC = 1;
    public static final int FLAGS_KNOWN = IN_SYNC;

    /** What a node asks of the witness. */
    public enum Kind {
        /**
         * A Primary lost its peer and asks to write alone, or a node's peer lost its disk while
         * connected: record the peer as outdated.
         */
        OUTDATE_PEER(1),
        /** A Secondary lost its peer and asks to be promoted. */
        PROMOTE(2),
        /** An operator forced a promotion; the witness records it without judging it. */
        FORCED(3),
        /**
         * An operator resumed a Primary's held writes: recorded as FORCED is, unless the record
         * already excludes the sender (the other node was granted since), which it then refuses.
         */
        RESUME(4);

        private final int code;

        Kind(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        static Kind fromCode(String field, int code) {
            for (Kind k : values()) {
                if (k.code == code) {
                    return k;
                }
            }
            throw new ProtocolException(field, "unknown request kind " + code + "; known are 1..4");
        }
    }

    public WitnessRequest {
        Check.range("WITNESS_REQUEST.requestId", requestId, 1, 0xFFFF_FFFFL);
        Check.present("WITNESS_REQUEST.kind", kind);
        Check.knownFlags("WITNESS_REQUEST.flags", flags, FLAGS_KNOWN);
        if (next == 0 || previous == next) {
            throw new ProtocolException("WITNESS_REQUEST.next", "previous " + Long.toHexString(previous) + " and next "
                    + Long.toHexString(next) + " must differ, and next must not be 0");
        }
    }

    public boolean has(int flag) {
        return (flags & flag) == flag;
    }

    @Override
    public MessageType type() {
        return MessageType.WITNESS_REQUEST;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u32(requestId);
        body.u8(kind.code());
        body.u8(flags);
        body.zeros(2);
        body.u64(previous);
        body.u64(next);
    }

    static WitnessRequest decode(BodyReader r) {
        long id = r.u32("requestId");
        Kind kind = Kind.fromCode(r.field("kind"), r.u8("kind"));
        int flags = r.u8("flags");
        r.reserved("reserved", 2);
        long previous = r.u64("previous");
        long next = r.u64("next");
        r.end();
        return new WitnessRequest(id, kind, flags, previous, next);
    }
}
