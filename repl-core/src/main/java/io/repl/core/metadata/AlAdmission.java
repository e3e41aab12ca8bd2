package io.repl.core.metadata;

/**
 * What {@link ActivityLog#ensureActive(long, java.util.function.Supplier, long)} decided for a write to one extent.
 *
 * @param kind what the caller does next
 * @param transaction the transaction to make durable, only for {@link Kind#WRITE_TRANSACTION}
 */
public record AlAdmission(Kind kind, AlTransaction transaction) {

    /** What the caller does next. */
    public enum Kind {
        /** The extent is durably hot and now holds a reference for this write: submit it. */
        READY,
        /**
         * The extent holds a reference for this write, but the write waits until the transaction
         * is durable: persist the bitmap pages of the evicted extents, flush, write the block,
         * flush, then {@link ActivityLog#commit(AlTransaction)} and submit.
         */
        WRITE_TRANSACTION,
        /** Another transaction is being written; ask again once it is committed. Nothing held. */
        WAIT_FOR_TRANSACTION,
        /** Every hot extent has writes in flight; ask again after one completes. Nothing held. */
        WAIT_FOR_WRITES,
        /**
         * Room could be made only by evicting idle extents whose last writes no data flush has
         * covered yet: flush the data disk, then ask again. Nothing held.
         */
        WAIT_FOR_FLUSH
    }

    static final AlAdmission READY_ADMISSION = new AlAdmission(Kind.READY, null);
    static final AlAdmission WAIT_TRANSACTION = new AlAdmission(Kind.WAIT_FOR_TRANSACTION, null);
    static final AlAdmission WAIT_WRITES = new AlAdmission(Kind.WAIT_FOR_WRITES, null);
    static final AlAdmission WAIT_FLUSH = new AlAdmission(Kind.WAIT_FOR_FLUSH, null);

    public AlAdmission {
        Checks.argument((kind == Kind.WRITE_TRANSACTION) == (transaction != null),
                "a transaction comes exactly with " + Kind.WRITE_TRANSACTION + ", kind " + kind);
    }
}
