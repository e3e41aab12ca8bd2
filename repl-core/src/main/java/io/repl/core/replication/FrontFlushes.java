package io.repl.core.replication;

import java.util.ArrayDeque;

/**
 * Front-end FLUSHes on the Primary. Each is a local flush plus, when the peer receives writes,
 * a BARRIER closing the current epoch; the request completes (in order) when both are done, so
 * every write acknowledged before it is durable on both disks. If the peer is lost meanwhile,
 * its writes are in the bitmap and the local flush suffices.
 */
final class FrontFlushes {
    private final CoreContext ctx;
    private final ArrayDeque<PendingFlush> pending = new ArrayDeque<>();

    /** One FLUSH request: its barrier number (-1 when none was sent) and what is done. */
    private static final class PendingFlush {
        final long requestId;
        final long barrier;
        boolean localSubmitted;
        boolean localDone;
        int errno;
        boolean peerDone;
        /** Diskless: no local flush, so only the peer's BARRIER_ACK makes it succeed. */
        boolean peerOnly;

        PendingFlush(long requestId, long barrier) {
            this.requestId = requestId;
            this.barrier = barrier;
            this.peerDone = barrier < 0;
        }
    }

    FrontFlushes(CoreContext ctx) {
        this.ctx = ctx;
    }

    boolean full() {
        return pending.size() >= ctx.config.queuedRequestsMax();
    }

    boolean idle() {
        return pending.isEmpty();
    }

    void start(long requestId, long barrier) {
        pending.addLast(new PendingFlush(requestId, barrier));
        submitPending();
    }

    /**
     * The local flush waits for writes received from the peer that are still being applied: on
     * a node promoted a moment ago they were acknowledged by the old Primary before this flush.
     */
    void submitPending() {
        if (!ctx.peerWrites.idle()) {
            return;
        }
        boolean disk = ctx.state.hasDisk();
        for (PendingFlush flush : pending) {
            if (!flush.localSubmitted && !disk) {
                // Diskless: the BARRIER makes the writes durable where they are.
                flush.localSubmitted = true;
                flush.localDone = true;
                flush.peerOnly = true;
            } else if (!flush.localSubmitted) {
                flush.localSubmitted = true;
                ctx.io.submit(DiskIo.Kind.FLUSH, null, null, false, (errno, ignored) -> {
                    flush.localDone = true;
                    // A flush of a disk detached meanwhile does not count either way.
                    if (ctx.state.hasDisk()) {
                        flush.errno = errno;
                    }
                    completeInOrder();
                    if (errno != Errno.OK) {
                        // Writes acknowledged before it may not be durable here: the disk failed.
                        ctx.failDisk("a flush of the data disk failed with errno " + errno, false);
                    }
                });
            }
        }
        completeInOrder();
    }

    void onBarrierAck(long number) {
        for (PendingFlush flush : pending) {
            if (flush.barrier >= 0 && flush.barrier <= number) {
                flush.peerDone = true;
            }
        }
        completeInOrder();
    }

    void onPeerLost() {
        for (PendingFlush flush : pending) {
            flush.peerDone = true;
            if (flush.peerOnly || !ctx.state.hasDisk()) {
                // Nothing of this node's made the writes durable: the flush cannot succeed.
                flush.errno = Errno.EIO;
            }
        }
        completeInOrder();
    }

    /** The disk failed: every FLUSH not answered yet fails with EIO; its local flush is ignored. */
    void failAll() {
        while (!pending.isEmpty()) {
            ctx.actions.completeRequest(pending.pollFirst().requestId, Errno.EIO);
        }
    }

    private void completeInOrder() {
        while (!pending.isEmpty() && pending.peekFirst().localDone && pending.peekFirst().peerDone) {
            PendingFlush flush = pending.pollFirst();
            ctx.actions.completeRequest(flush.requestId, flush.errno == 0 ? Errno.OK : Errno.EIO);
        }
    }
}
