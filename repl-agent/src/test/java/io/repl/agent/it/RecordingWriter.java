package io.repl.agent.it;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A client that keeps writing stamped 4 KiB blocks through one NBD connection, pipelined up
 * to a queue depth, and records every send and every successful acknowledgement in an
 * {@link AckLedger}, so that after kills, partitions and failovers a test can check that no
 * acknowledged write was lost.
 *
 * <p>It has no deadline of its own on replies: a server that holds writes (suspended I/O
 * while it waits for a fence or a witness, or a process frozen with SIGSTOP) just makes it
 * wait with its queue full, for as long as it takes, and it goes on when the replies come.
 * A connection that dies (the agent was killed) ends it quietly; the writes then in flight
 * stay "sent, not acknowledged" in the ledger, which is exactly what they are.
 *
 * <p>Blocks are chosen at random in {@code [0, blocks)}, never one that already has a write
 * in flight: NBD lets a server complete overlapping requests in any order, so two writes to
 * one block in flight together would leave the ledger unable to say which version must win.
 */
final class RecordingWriter implements AutoCloseable {
    /**
     * How the writer writes; {@link #DEFAULTS} is queue depth 16, no FUA, and seed 0, which
     * means a fresh random seed for each session.
     */
    record Options(int queueDepth, boolean fua, long seed) {
        static final Options DEFAULTS = new Options(16, false, 0);

        Options depth(int d) {
            return new Options(d, fua, seed);
        }

        Options fua(boolean f) {
            return new Options(queueDepth, f, seed);
        }

        Options seed(long s) {
            return new Options(queueDepth, fua, s);
        }
    }

    /** One write in flight, keyed by its cookie, which is its version. */
    private record InFlight(int block, long version) {}

    private final AckLedger ledger;
    private final int blocks;
    private final Options options;
    private final NbdTestClient client;
    private final String name;
    private final Map<Long, InFlight> inFlight = new ConcurrentHashMap<>();
    private final Set<Integer> busyBlocks = ConcurrentHashMap.newKeySet();
    private final Semaphore window;
    private final AtomicLong acknowledged = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final Object progress = new Object();
    private final Thread sender;
    private final Thread receiver;
    private volatile boolean issuing = true;
    private volatile boolean stopped;
    /** Set once the connection is gone: replies will never come. */
    private volatile boolean ended;
    /** Why the connection ended, if it was not our own stop(). */
    private volatile Exception endedBy;
    private volatile int lastErrno;
    private volatile int firstErrno;
    /** Guards the gap bookkeeping below, which the reply thread updates on every acknowledgement. */
    private final Object gaps = new Object();
    private long lastAckNanos;
    /** Gaps are measured from here at the earliest: the moment of the last {@link #resetLongestGap}. */
    private long gapFloorNanos;
    private boolean measuringGaps;
    private Gap longestGap;
    /** The first acknowledgement after the floor, null before it came. */
    private Long firstAckAfterFloor;

    private RecordingWriter(NbdTestClient client, String name, int blocks, AckLedger ledger, Options options) {
        this.client = client;
        this.name = name;
        this.blocks = blocks;
        this.ledger = ledger;
        this.options = options;
        this.window = new Semaphore(options.queueDepth());
        this.sender = new Thread(this::sendLoop, "recording-writer-send " + name);
        this.receiver = new Thread(this::receiveLoop, "recording-writer-reply " + name);
        sender.setDaemon(true);
        receiver.setDaemon(true);
    }

    /** Connects to {@code export} and starts writing to blocks {@code [0, blocks)} with the default options. */
    static RecordingWriter start(Path nbdSocket, String export, int blocks, AckLedger ledger) throws Exception {
        return start(nbdSocket, export, blocks, ledger, Options.DEFAULTS);
    }

    static RecordingWriter start(Path nbdSocket, String export, int blocks, AckLedger ledger, Options options)
            throws Exception {
        if (blocks > ledger.blocks()) {
            throw new IllegalArgumentException(blocks + " blocks but the ledger tracks " + ledger.blocks());
        }
        if (options.queueDepth() < 1 || options.queueDepth() > blocks / 2) {
            // Fewer free blocks than that and the random pick would spin looking for one.
            throw new IllegalArgumentException("queue depth " + options.queueDepth() + " for " + blocks + " blocks");
        }
        NbdTestClient client = NbdTestClient.open(nbdSocket, export);
        if ((long) blocks * AckLedger.BLOCK > client.exportSize) {
            client.close();
            throw new IllegalArgumentException(blocks + " blocks do not fit the export's " + client.exportSize
                    + " bytes");
        }
        RecordingWriter w = new RecordingWriter(client, nbdSocket.getFileName().toString(), blocks, ledger, options);
        w.receiver.start();
        w.sender.start();
        return w;
    }

    private void sendLoop() {
        Random rnd = options.seed() == 0 ? new Random() : new Random(options.seed());
        int flags = options.fua() ? NbdTestClient.FLAG_FUA : 0;
        try {
            while (issuing && !ended) {
                // A timed acquire so that stop() and a dead connection are noticed with the queue full.
                if (!window.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                    continue;
                }
                if (!issuing || ended) {
                    window.release();
                    break;
                }
                int block = rnd.nextInt(blocks);
                while (!busyBlocks.add(block)) {
                    block = rnd.nextInt(blocks);
                }
                long version = ledger.nextVersion();
                // Into the ledger and the in-flight table before the bytes leave: the reply may
                // come back before request() returns, and a crash may persist the write anyway.
                ledger.sent(block, version);
                inFlight.put(version, new InFlight(block, version));
                client.request(version, flags, NbdTestClient.CMD_WRITE, (long) block * AckLedger.BLOCK,
                        AckLedger.BLOCK, AckLedger.stamp(block, version), NbdTestClient.NO_TIMEOUT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            connectionEnded(e);
        }
    }

    private void receiveLoop() {
        try {
            while (!ended) {
                NbdTestClient.Reply r = client.reply(0, NbdTestClient.NO_TIMEOUT);
                InFlight w = inFlight.remove(r.cookie());
                if (w == null) {
                    throw new IllegalStateException("reply for cookie " + r.cookie() + " that is not in flight");
                }
                if (r.error() == 0) {
                    ledger.acknowledged(w.block(), w.version());
                    acknowledged.incrementAndGet();
                    noteAck(System.nanoTime());
                } else {
                    lastErrno = r.error();
                    if (failed.incrementAndGet() == 1) {
                        firstErrno = r.error();
                    }
                }
                busyBlocks.remove(w.block());
                window.release();
                synchronized (progress) {
                    progress.notifyAll();
                }
            }
        } catch (Exception e) {
            // EOF, a reset, or the channel closed by stop(): no more replies either way.
            connectionEnded(e);
        }
    }

    private void connectionEnded(Exception e) {
        if (!ended && issuing) {
            endedBy = e;
        }
        ended = true;
        synchronized (progress) {
            progress.notifyAll();
        }
    }

    /**
     * A stretch without any acknowledgement: it began with the acknowledgement before (or the
     * {@link #resetLongestGap} that opened the measurement) and ended with the one at
     * {@code endNanos}, which arrived at wall-clock time {@code end}, so it can be set against
     * the time stamps in an agent's or the witness's log.
     */
    record Gap(long startNanos, long endNanos, Instant end) {
        Duration length() {
            return Duration.ofNanos(endNanos - startNanos);
        }
    }

    private void noteAck(long now) {
        synchronized (gaps) {
            if (measuringGaps) {
                if (firstAckAfterFloor == null) {
                    firstAckAfterFloor = now;
                }
                // The ack before the floor does not count: the gap then began at the floor.
                long from = lastAckNanos - gapFloorNanos > 0 ? lastAckNanos : gapFloorNanos;
                if (longestGap == null || now - from > longestGap.endNanos() - longestGap.startNanos()) {
                    longestGap = new Gap(from, now, Instant.now());
                }
            }
            lastAckNanos = now;
        }
    }

    /**
     * Starts measuring the longest stretch without an acknowledgement from now on (e.g. just
     * before a kill or a partition): {@link #longestGap} then reports the pause, once the
     * acknowledgement that ends it has come.
     */
    void resetLongestGap() {
        synchronized (gaps) {
            gapFloorNanos = System.nanoTime();
            measuringGaps = true;
            longestGap = null;
            firstAckAfterFloor = null;
        }
    }

    /**
     * The longest stretch without an acknowledgement since {@link #resetLongestGap}, ended by
     * an acknowledgement; null if none came since (or no measurement was started).
     */
    Gap longestGap() {
        synchronized (gaps) {
            return longestGap;
        }
    }

    /**
     * When ({@link System#nanoTime}) the first acknowledgement after the last
     * {@link #resetLongestGap} came, or null if none has come since.
     */
    Long firstAckSinceReset() {
        synchronized (gaps) {
            return firstAckAfterFloor;
        }
    }

    /** Writes acknowledged with success so far. */
    long acknowledged() {
        return acknowledged.get();
    }

    /** Writes answered with an error (errno != 0) so far. */
    long failed() {
        return failed.get();
    }

    /** Writes sent and not answered yet (or never, if the connection died). */
    int outstanding() {
        return inFlight.size();
    }

    /** The errno of the last failed write, 0 if none failed. */
    int lastErrno() {
        return lastErrno;
    }

    /** The errno of the first failed write, 0 if none failed. */
    int firstErrno() {
        return firstErrno;
    }

    /** True once the connection is gone, whether the server died or stop() closed it. */
    boolean ended() {
        return ended;
    }

    /** Why the connection ended under the writer (the server closed or reset it), null if it did not. */
    Exception endedBy() {
        return endedBy;
    }

    /**
     * Waits until at least {@code n} writes of this session were acknowledged; fails if that
     * takes longer than {@code max} or the connection ends first.
     */
    RecordingWriter waitForAcks(long n, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        synchronized (progress) {
            while (acknowledged.get() < n) {
                if (ended) {
                    throw new AssertionError(name + ": the connection ended after " + acknowledged.get()
                            + " acknowledged writes, before " + n + " (" + endedBy + ")");
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError(name + ": " + acknowledged.get() + " acknowledged writes, not " + n
                            + ", within " + max + " (" + failed.get() + " failed, " + outstanding()
                            + " outstanding)");
                }
                TimeUnit.NANOSECONDS.timedWait(progress, left);
            }
        }
        return this;
    }

    /** {@link #stop(Duration)} with 60 s for the outstanding replies. */
    Summary stop() throws InterruptedException {
        return stop(Duration.ofSeconds(60));
    }

    /** What a session did, for assertions and messages. */
    record Summary(long acknowledged, long failed, int unanswered, Exception endedBy) {}

    /**
     * Stops issuing writes, waits up to {@code drain} for the replies to those in flight, then
     * closes the connection. Never throws for a dead server: the unanswered writes are
     * counted in the summary and stay "sent" in the ledger.
     */
    Summary stop(Duration drain) throws InterruptedException {
        stopped = true;
        issuing = false;
        sender.join(TimeUnit.SECONDS.toMillis(10));
        long deadline = System.nanoTime() + drain.toNanos();
        synchronized (progress) {
            while (!ended && !inFlight.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                TimeUnit.NANOSECONDS.timedWait(progress, left);
            }
        }
        int unanswered = inFlight.size();
        try {
            client.close();
        } catch (Exception ignored) {
            // the connection may be gone already
        }
        // Closing the channel ends a receiver still waiting for a reply.
        receiver.join(TimeUnit.SECONDS.toMillis(10));
        ended = true;
        return new Summary(acknowledged.get(), failed.get(), unanswered, endedBy);
    }

    @Override
    public void close() throws InterruptedException {
        if (!stopped) {
            stop(Duration.ofSeconds(5));
        }
    }

    @Override
    public String toString() {
        return name + ": " + acknowledged.get() + " acknowledged, " + failed.get() + " failed, " + outstanding()
                + " outstanding" + (ended ? ", ended" + (endedBy == null ? "" : " by " + endedBy) : "");
    }
}
