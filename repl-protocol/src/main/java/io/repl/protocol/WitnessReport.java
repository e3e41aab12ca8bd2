package io.repl.protocol;

import java.util.List;

/**
 * WITNESS_REPORT: a node tells the witness which generation it holds. Sent only while the
 * node is connected to its peer with both disks UpToDate and no resync running
 * ({@link #IN_SYNC}), so that the witness learns that both nodes hold every acknowledged write
 * of {@code current}. The ancestors (the bitmap generation and the history, newest first) let
 * the witness tell a newer generation from an older one.
 *
 * @param current the sender's current generation, not 0
 * @param flags {@link #IN_SYNC}
 * @param ancestors older generations of the sender, newest first, at most
 *     {@link #ANCESTORS_MAX}, none of them 0
 */
public record WitnessReport(long current, int flags, List<Long> ancestors) implements Message {
    /** The sender is connected, Established, and both disks are UpToDate. */
    public static final int IN_SYNC = 1;
    public static final int FLAGS_KNOWN = IN_SYNC;
    /** The bitmap generation and the four history slots. */
    public static final int ANCESTORS_MAX = 1 + Limits.HISTORY_UUIDS_MAX;
    static final int FIXED_BYTES = 8 + 2 + 2;
    public static final int BODY_BYTES_MAX = FIXED_BYTES + Long.BYTES * ANCESTORS_MAX;

    public WitnessReport {
        if (current == 0) {
            throw new ProtocolException("WITNESS_REPORT.current", "is 0; a report names a generation");
        }
        Check.knownFlags("WITNESS_REPORT.flags", flags, FLAGS_KNOWN);
        Check.present("WITNESS_REPORT.ancestors", ancestors);
        Check.range("WITNESS_REPORT.ancestorCount", ancestors.size(), 0, ANCESTORS_MAX);
        ancestors = List.copyOf(ancestors);
        for (long a : ancestors) {
            if (a == 0) {
                throw new ProtocolException("WITNESS_REPORT.ancestors", "contains 0; list only real generations");
            }
        }
    }

    public boolean has(int flag) {
        return (flags & flag) == flag;
    }

    /** Whether {@code generation} is one of the ancestors. */
    public boolean descendsFrom(long generation) {
        return generation != 0 && ancestors.contains(generation);
    }

    @Override
    public MessageType type() {
        return MessageType.WITNESS_REPORT;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(current);
        body.u16(flags);
        body.u16(ancestors.size());
        for (long a : ancestors) {
            body.u64(a);
        }
    }

    static WitnessReport decode(BodyReader r) {
        long current = r.u64("current");
        int flags = r.u16("flags");
        int count = r.u16("ancestorCount");
        Check.range(r.field("ancestorCount"), count, 0, ANCESTORS_MAX);
        Long[] ancestors = new Long[count];
        for (int i = 0; i < count; i++) {
            ancestors[i] = r.u64("ancestors");
        }
        r.end();
        return new WitnessReport(current, flags, List.of(ancestors));
    }
}
