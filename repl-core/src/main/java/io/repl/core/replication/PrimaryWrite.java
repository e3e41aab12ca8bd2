package io.repl.core.replication;

/**
 * One front-end write on the Primary, from admission until the peer has flushed it (or the peer
 * is gone and the write is in the bitmap). Its activity-log reference lives exactly as long, so
 * a crash of either node finds every block the other may lack in a bitmap or a hot extent.
 */
final class PrimaryWrite {
    final long seq;
    final FrontRequest request;
    final ByteRange range;
    final long epoch;
    final long startedNanos;
    /** DATA went to the peer and the peer has not been lost since; else the bitmap holds it. */
    boolean replicated;
    /** The metadata the write was admitted under ({@link MetaStore#epoch}). */
    long metaEpoch;
    /**
     * Started while the node served through its peer (Diskless, or its disk being resynced):
     * the peer's copy is the one that counts, so only the peer's WRITE_ACK completes it.
     */
    boolean throughPeer;
    boolean localDone;
    int localErrno;
    boolean receiveAcked;
    boolean writeAcked;
    boolean barrierAcked;
    boolean completed;
    boolean retired;

    PrimaryWrite(long seq, FrontRequest request, long epoch, boolean replicated, long startedNanos) {
        this.seq = seq;
        this.request = request;
        this.range = request.range();
        this.epoch = epoch;
        this.replicated = replicated;
        this.startedNanos = startedNanos;
    }
}
