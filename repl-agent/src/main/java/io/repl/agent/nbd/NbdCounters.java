package io.repl.agent.nbd;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What the clients of one export asked for, since the agent started: requests, bytes and
 * failures per command, and the time from a request's decoding to its reply for reads, writes
 * and flushes, in fixed buckets.
 *
 * <p>Written only on the resource's event loop, which every session of the export runs on, so
 * there is one writer per counter; readers (a metrics scrape) on other threads see recent
 * values and never a torn one. Nothing here allocates or locks on the request path.
 */
public final class NbdCounters {
    /** Upper bounds of the latency buckets, in seconds, as Prometheus {@code le} labels want them. */
    public static final double[] BUCKET_SECONDS = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
        0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    private static final long[] BUCKET_NANOS = new long[BUCKET_SECONDS.length];

    static {
        for (int i = 0; i < BUCKET_SECONDS.length; i++) {
            BUCKET_NANOS[i] = Math.round(BUCKET_SECONDS[i] * 1e9);
        }
    }

    /** The commands counted apart. */
    public enum Op {
        READ, WRITE, FLUSH, TRIM, WRITE_ZEROES;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static Op of(int type) {
            return switch (type) {
                case Nbd.CMD_READ -> READ;
                case Nbd.CMD_WRITE -> WRITE;
                case Nbd.CMD_FLUSH -> FLUSH;
                case Nbd.CMD_TRIM -> TRIM;
                case Nbd.CMD_WRITE_ZEROES -> WRITE_ZEROES;
                default -> null;
            };
        }
    }

    private static final int OPS = Op.values().length;
    private static final int REQUESTS = 0;
    private static final int BYTES = 1;
    private static final int ERRORS = 2;
    private static final int SUM_NANOS = 3;
    private static final int FIELDS = 4;
    /** Per op: requests, bytes, errors, latency sum; then per op the (non-cumulative) bucket counts. */
    private final AtomicLongArray totals = new AtomicLongArray(OPS * FIELDS);
    private final AtomicLongArray buckets = new AtomicLongArray(OPS * (BUCKET_NANOS.length + 1));

    /** A request of {@code type} answered {@code nanos} after it was decoded; {@code failed}: an error reply. */
    void answered(int type, long length, boolean failed, long nanos) {
        Op op = Op.of(type);
        if (op == null) {
            return;
        }
        int base = op.ordinal() * FIELDS;
        add(totals, base + REQUESTS, 1);
        if (failed) {
            add(totals, base + ERRORS, 1);
        } else if (op != Op.FLUSH) {
            add(totals, base + BYTES, length);
        }
        add(totals, base + SUM_NANOS, Math.max(0, nanos));
        int b = 0;
        while (b < BUCKET_NANOS.length && nanos > BUCKET_NANOS[b]) {
            b++;
        }
        add(buckets, op.ordinal() * (BUCKET_NANOS.length + 1) + b, 1);
    }

    /** One writer: a plain read-modify-write published with release semantics. */
    private static void add(AtomicLongArray a, int i, long delta) {
        a.lazySet(i, a.get(i) + delta);
    }

    public long requests(Op op) {
        return totals.get(op.ordinal() * FIELDS + REQUESTS);
    }

    /** Payload bytes of the requests that succeeded (a trim's or a zeroing's length); 0 for flushes. */
    public long bytes(Op op) {
        return totals.get(op.ordinal() * FIELDS + BYTES);
    }

    public long errors(Op op) {
        return totals.get(op.ordinal() * FIELDS + ERRORS);
    }

    public long latencySumNanos(Op op) {
        return totals.get(op.ordinal() * FIELDS + SUM_NANOS);
    }

    /**
     * Cumulative counts per bucket bound of {@link #BUCKET_SECONDS}, then the +Inf count, as
     * the exposition format wants them.
     */
    public long[] cumulativeBuckets(Op op) {
        long[] out = new long[BUCKET_NANOS.length + 1];
        long running = 0;
        int base = op.ordinal() * (BUCKET_NANOS.length + 1);
        for (int i = 0; i <= BUCKET_NANOS.length; i++) {
            running += buckets.get(base + i);
            out[i] = running;
        }
        return out;
    }
}
