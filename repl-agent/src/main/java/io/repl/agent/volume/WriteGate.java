package io.repl.agent.volume;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Keeps read-modify-write cycles apart from other writes to the same blocks.
 *
 * <p>A sub-block write reads its edge blocks, merges and writes them back. If another write to
 * those blocks landed in between, the write-back would undo it, a result no ordering of the
 * two writes explains. So a read-modify-write runs alone on its blocks, and a plain write
 * waits only for read-modify-writes it overlaps. Plain writes never wait for each other:
 * overlapping writes in flight at once may land in either order, as on any disk.
 *
 * <p>Waiting operations start in arrival order among those that overlap, so none starves.
 * Thread-safe; starts run outside the lock, since a start may complete synchronously.
 */
final class WriteGate {
    /** One write's claim on an inclusive range of block indexes. */
    static final class Claim {
        final long first;
        final long last;
        final boolean exclusive;
        final Runnable start;

        Claim(long first, long last, boolean exclusive, Runnable start) {
            if (first < 0 || last < first) {
                throw new IllegalArgumentException("bad block range " + first + ".." + last);
            }
            this.first = first;
            this.last = last;
            this.exclusive = exclusive;
            this.start = start;
        }

        boolean overlaps(Claim o) {
            return first <= o.last && o.first <= last;
        }
    }

    private final Set<Claim> running = new HashSet<>();
    private final ArrayDeque<Claim> waiting = new ArrayDeque<>();
    private int runningExclusive;

    /** Starts {@code c} now if nothing it must wait for is running, else when that ends. */
    void enter(Claim c) {
        boolean go;
        synchronized (this) {
            go = canRun(c) && !overlapsWaiting(c, null);
            if (go) {
                admit(c);
            } else {
                waiting.addLast(c);
            }
        }
        if (go) {
            c.start.run();
        }
    }

    /** Ends {@code c} and starts whatever was waiting only for it. */
    void leave(Claim c) {
        List<Claim> ready = new ArrayList<>();
        synchronized (this) {
            if (!running.remove(c)) {
                throw new IllegalStateException("claim left the gate twice or was never admitted");
            }
            if (c.exclusive) {
                runningExclusive--;
            }
            for (var it = waiting.iterator(); it.hasNext(); ) {
                Claim w = it.next();
                if (canRun(w) && !overlapsWaiting(w, w)) {
                    it.remove();
                    admit(w);
                    ready.add(w);
                }
            }
        }
        for (Claim w : ready) {
            w.start.run();
        }
    }

    synchronized int waitingCount() {
        return waiting.size();
    }

    private void admit(Claim c) {
        running.add(c);
        if (c.exclusive) {
            runningExclusive++;
        }
    }

    private boolean canRun(Claim c) {
        if (!c.exclusive && runningExclusive == 0) {
            return true;
        }
        for (Claim r : running) {
            if ((c.exclusive || r.exclusive) && r.overlaps(c)) {
                return false;
            }
        }
        return true;
    }

    /** Whether an operation that arrived before {@code c} (up to {@code self}) overlaps it. */
    private boolean overlapsWaiting(Claim c, Claim self) {
        for (Claim w : waiting) {
            if (w == self) {
                return false;
            }
            if (w.overlaps(c) && (w.exclusive || c.exclusive)) {
                return true;
            }
        }
        return false;
    }
}
