package io.repl.core.replication;

/**
 * How a resource keeps the failover promise (docs/FAILOVER.md): the fencing policy, whether a
 * witness decides, and what a Primary does with writes while it may not write alone.
 *
 * @param fencing what losing the peer without a goodbye means on each side
 * @param witness whether a witness is configured; it then decides every write alone
 * @param onNoQuorum what a Primary does with writes while it may not write alone and the
 *     witness is not reachable either
 * @param witnessAnswerNanos how long a promotion waits for the witness's verdict
 */
public record FailoverPolicy(Fencing fencing, boolean witness, OnNoQuorum onNoQuorum, long witnessAnswerNanos) {

    /** The {@code [disk] fencing} policies. */
    public enum Fencing {
        /** The default: a Secondary that loses its Primary without a goodbye outdates itself. */
        OUTDATE,
        /** The Primary holds writes until the fence-peer handler outdates or shoots the peer. */
        RESOURCE_AND_STONITH,
        /** No fencing at all: writes made alone can be lost. */
        DONT_CARE
    }

    /** What a Primary does with writes while it has neither its peer nor the witness. */
    public enum OnNoQuorum {
        /** Hold them, answering none and failing none, until the peer or the witness returns. */
        SUSPEND_IO,
        /** Fail them with EIO. */
        IO_ERROR
    }

    public FailoverPolicy {
        if (fencing == null || onNoQuorum == null) {
            throw new IllegalArgumentException("fencing and on-no-quorum must be given");
        }
        if (witness && fencing != Fencing.OUTDATE) {
            throw new IllegalArgumentException("a witness decides fencing itself; fencing must be OUTDATE with a "
                    + "witness, not " + fencing);
        }
        if (witnessAnswerNanos <= 0) {
            throw new IllegalArgumentException("witnessAnswerNanos must be positive");
        }
    }

    /** The default: fencing outdate, no witness, writes held without quorum, 10 s for an answer. */
    public static FailoverPolicy defaults() {
        return new FailoverPolicy(Fencing.OUTDATE, false, OnNoQuorum.SUSPEND_IO, 10_000_000_000L);
    }

    public FailoverPolicy withFencing(Fencing next) {
        return new FailoverPolicy(next, witness, onNoQuorum, witnessAnswerNanos);
    }

    public FailoverPolicy withWitness(boolean on) {
        return new FailoverPolicy(fencing, on, onNoQuorum, witnessAnswerNanos);
    }

    public FailoverPolicy withOnNoQuorum(OnNoQuorum next) {
        return new FailoverPolicy(fencing, witness, next, witnessAnswerNanos);
    }
}
