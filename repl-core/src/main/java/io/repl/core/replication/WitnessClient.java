package io.repl.core.replication;

import io.repl.core.uuid.GenerationUuids;
import io.repl.protocol.DiskState;
import io.repl.protocol.Message;
import io.repl.protocol.WitnessReport;
import io.repl.protocol.WitnessRequest;
import io.repl.protocol.WitnessVerdict;
import java.util.ArrayList;
import java.util.List;

/**
 * This node's side of the conversation with the witness (docs/FAILOVER.md, section 5): reports
 * while the pair is in sync, and one request at a time (write alone, promote, or the notice of a
 * forced promotion), resent when the witness connection comes back. Without a witness it
 * stays silent and reports itself unreachable.
 */
final class WitnessClient {
    /** How long after a verdict that was neither a grant nor a deposition a request is asked again. */
    static final long RETRY_NANOS = 1_000_000_000L;

    /** Why a request was sent. */
    private enum Purpose { WRITE_ALONE, PROMOTE, FORCED, RESUME_IO, LONE_COPY }

    private record Pending(WitnessRequest request, Purpose purpose, long sentNanos) {
    }

    /** A lone-copy notice: OUTDATE_PEER from {@code previous} to {@code next}. */
    private record LoneCopy(int flags, long previous, long next) {
    }

    private final CoreContext ctx;
    private final boolean configured;
    private boolean reachable;
    private long nextRequestId = 1;
    private Pending pending;
    /** A write-alone request to ask again at {@link #retryAtNanos}; 0 when none is due. */
    private long retryAtNanos;
    private long writeAlonePrevious;
    private long writeAloneNext;
    /** The lone-copy notice still to be recorded ({@link #tellLoneCopy}), or null. */
    private LoneCopy loneCopy;
    private long loneCopySinceNanos;
    /** The generation last reported on this witness connection; 0 before the first. */
    private long reportedCurrent;
    private String lastAnswer;
    private long recordGeneration;
    private int recordHolders;
    private boolean recordForced;

    WitnessClient(CoreContext ctx) {
        this.ctx = ctx;
        this.configured = ctx.config.failover().witness();
    }

    boolean reachable() {
        return configured && reachable;
    }

    FailoverStatus.WitnessView view() {
        return configured ? new FailoverStatus.WitnessView(reachable, lastAnswer, recordGeneration, recordHolders,
                recordForced) : null;
    }

    void onConnected() {
        if (!configured) {
            return;
        }
        reachable = true;
        reportedCurrent = 0;
        if (pending != null) {
            ctx.actions.sendToWitness(pending.request());
        }
        maybeReport();
    }

    void onDisconnected() {
        if (!configured || !reachable) {
            return;
        }
        reachable = false;
        if (pending != null && pending.purpose() == Purpose.PROMOTE) {
            pending = null;
            ctx.roles.onPromoteVerdict(null, "the connection to the witness closed before it answered");
        } else if (pending != null && pending.purpose() == Purpose.RESUME_IO) {
            resumeFailed("the connection to the witness closed before it answered");
        }
        if (ctx.failover.failsAlone() || loneCopyFails()) {
            // on-no-quorum io-error: what was held fails now.
            ctx.writePath.onAloneAllowed();
        }
    }

    void onMessage(Message message) {
        if (!(message instanceof WitnessVerdict verdict)) {
            ctx.log("warn", "the witness sent " + message.type() + "; only verdicts are expected from it");
            return;
        }
        recordGeneration = verdict.generation();
        recordHolders = verdict.holders();
        recordForced = (verdict.flags() & WitnessVerdict.FORCED) != 0;
        if (verdict.requestId() == 0) {
            // An answer to a report, or a notice that the record changed (the other node's report).
            if (verdict.outcome() == WitnessVerdict.Outcome.GRANTED || lastAnswer == null) {
                lastAnswer = verdict.detail().startsWith("record now") ? verdict.detail() : "report " + describe(verdict);
            }
            return;
        }
        if (pending == null || pending.request().requestId() != verdict.requestId()) {
            ctx.log("debug", "witness verdict for request " + verdict.requestId() + ", which is no longer pending");
            return;
        }
        Pending answered = pending;
        pending = null;
        lastAnswer = answered.request().kind().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + " "
                + describe(verdict);
        ctx.log(verdict.granted() ? "info" : "warn", "witness: " + lastAnswer);
        switch (answered.purpose()) {
            case WRITE_ALONE:
                if (!verdict.granted() && verdict.outcome() != WitnessVerdict.Outcome.DEPOSED) {
                    retryAtNanos = ctx.nowNanos + RETRY_NANOS;
                }
                ctx.failover.onWriteAloneVerdict(verdict);
                break;
            case PROMOTE:
                ctx.roles.onPromoteVerdict(verdict, null);
                break;
            case RESUME_IO:
                ctx.failover.onResumeVerdict(verdict, null);
                if (!verdict.granted()) {
                    askAgainIfHolding();
                }
                break;
            case LONE_COPY:
                onLoneCopyVerdict(verdict);
                break;
            default:
                break;
        }
    }

    private static String describe(WitnessVerdict verdict) {
        return verdict.outcome().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
                + (verdict.detail().isEmpty() ? "" : ": " + verdict.detail());
    }

    /**
     * The peer's disk is gone while the pair stays connected, and this node started a new
     * generation on the only current copy ({@link CoreContext#peerDiskGone}): the witness is told
     * that generation is this node's alone. The disk the peer left behind may come back by a
     * restart still saying it holds the generation the pair shared (its metadata could not
     * record the loss); the witness then never grants it a promotion. The writes only this node
     * holds wait for the answer (a Primary's here, a Diskless Primary's until this node announces
     * its generation), or fail under {@code on-no-quorum = io-error} while the witness is
     * unreachable. Sent again when the witness connection comes back; dropped once this node
     * moves to another generation or the pair is in sync again (its reports move the record from
     * then on).
     *
     * @param inSync whether this node held {@code previous} in sync with its peer until now
     */
    void tellLoneCopy(long previous, boolean inSync) {
        long next = ctx.meta.uuids().current();
        if (!configured || previous == 0 || next == previous) {
            // No new generation (its superblock write failed: the disk fails as the event ends).
            return;
        }
        loneCopy = new LoneCopy(inSync ? WitnessRequest.IN_SYNC : 0, previous, next);
        loneCopySinceNanos = ctx.nowNanos;
        sendLoneCopyIfDue();
    }

    /** Whether a lone-copy notice waits for the witness: the writes only this node holds wait with it. */
    boolean loneCopyPending() {
        return loneCopy != null;
    }

    long loneCopySinceNanos() {
        return loneCopySinceNanos;
    }

    /**
     * Whether the writes waiting for the lone-copy notice fail now: the witness is unreachable
     * and the policy says a node without quorum fails its writes rather than suspend them.
     */
    boolean loneCopyFails() {
        return loneCopy != null && !reachable
                && ctx.config.failover().onNoQuorum() == FailoverPolicy.OnNoQuorum.IO_ERROR;
    }

    private void endLoneCopy() {
        loneCopy = null;
        ctx.loneCopyRecorded();
    }

    private void sendLoneCopyIfDue() {
        if (loneCopy == null) {
            return;
        }
        if (loneCopy.next() != ctx.meta.uuids().current() || pairInSync()) {
            endLoneCopy();
            return;
        }
        if (reachable && pending == null) {
            send(WitnessRequest.Kind.OUTDATE_PEER, loneCopy.flags(), loneCopy.previous(), loneCopy.next(),
                    Purpose.LONE_COPY);
        }
    }

    /**
     * Every answer ends the notice. A grant records it; without a record, or with one at another
     * generation than the one the pair shared, the witness grants the left-behind disk nothing
     * either (a request names that generation); a deposition means the peer was granted a newer
     * generation, which the handshake, not this notice, settles. Holding writes longer would
     * protect nothing.
     */
    private void onLoneCopyVerdict(WitnessVerdict verdict) {
        if (!verdict.granted() && verdict.outcome() != WitnessVerdict.Outcome.NO_RECORD) {
            ctx.log("warn", "the witness did not record this node's copy as the only current one: "
                    + verdict.detail());
        }
        endLoneCopy();
    }

    /** A Primary lost its peer: ask to write alone, from {@code previous} to our current generation. */
    void askToWriteAlone(long previous) {
        long next = ctx.meta.uuids().current();
        writeAlonePrevious = previous != next && previous != 0 ? previous : olderThan(next);
        writeAloneNext = next;
        retryAtNanos = 0;
        send(WitnessRequest.Kind.OUTDATE_PEER, writeAlonePrevious, writeAloneNext, Purpose.WRITE_ALONE);
    }

    /** The generation shared with the peer before the latest loss (for a forced notice). */
    long lastSharedGeneration() {
        return writeAlonePrevious;
    }

    /**
     * Asks to promote this node while it is disconnected; the answer comes through
     * {@link Roles#onPromoteVerdict}. Returns null when the request went out, else the refusal.
     */
    CommandResult askToPromote(long previous, long next) {
        if (!reachable) {
            return CommandResult.noUpToDateData("the witness is not reachable, and with a witness configured"
                            + " every promotion while disconnected needs its agreement",
                    "bring the witness or the peer back, or use --force if this copy is known to be the newest"
                            + " (writes the peer made alone would then be lost in a split brain)");
        }
        send(WitnessRequest.Kind.PROMOTE, previous, next, Purpose.PROMOTE);
        return null;
    }

    /** An operator forced a promotion: tell the witness, never ask it (resent until it answers). */
    void tellForced(long previous) {
        if (configured) {
            sendForced(previous, Purpose.FORCED);
        }
    }

    /**
     * An operator resumed held writes: the witness must record it before they go on, and
     * refuses if it granted the peer since.
     */
    void tellResumed(long previous) {
        sendForced(WitnessRequest.Kind.RESUME, previous, Purpose.RESUME_IO);
    }

    private void sendForced(long previous, Purpose purpose) {
        sendForced(WitnessRequest.Kind.FORCED, previous, purpose);
    }

    private void sendForced(WitnessRequest.Kind kind, long previous, Purpose purpose) {
        long next = ctx.meta.uuids().current();
        long from = previous != next && previous != 0 ? previous : olderThan(next);
        send(kind, from, next, purpose);
    }

    /**
     * The operator's resume-io got no answer: the command fails and the request is withdrawn,
     * never resent later (by then the peer may have been promoted, and the operator told the
     * writes stay held). The hold asks to write alone again, as before the command.
     */
    private void resumeFailed(String why) {
        pending = null;
        ctx.failover.onResumeVerdict(null, why);
        askAgainIfHolding();
    }

    private void askAgainIfHolding() {
        if (ctx.failover.holding() && writeAloneNext != 0) {
            retryAtNanos = ctx.nowNanos;
        }
    }

    private void send(WitnessRequest.Kind kind, long previous, long next, Purpose purpose) {
        boolean asks = kind == WitnessRequest.Kind.OUTDATE_PEER || kind == WitnessRequest.Kind.PROMOTE;
        send(kind, asks && ctx.failover.heldInSync(previous) ? WitnessRequest.IN_SYNC : 0, previous, next, purpose);
    }

    private void send(WitnessRequest.Kind kind, int flags, long previous, long next, Purpose purpose) {
        WitnessRequest request = new WitnessRequest(nextRequestId, kind, flags, previous, next);
        nextRequestId = nextRequestId == 0xFFFF_FFFFL ? 1 : nextRequestId + 1;
        pending = new Pending(request, purpose, ctx.nowNanos);
        if (reachable) {
            ctx.actions.sendToWitness(request);
        }
    }

    /** The newest identifier before {@code current}: the bitmap's, else the newest history entry. */
    private long olderThan(long current) {
        GenerationUuids uuids = ctx.meta.uuids();
        if (uuids.bitmap() != 0 && uuids.bitmap() != current) {
            return uuids.bitmap();
        }
        for (int i = 0; i < GenerationUuids.HISTORY_SIZE; i++) {
            if (uuids.history(i) != 0 && uuids.history(i) != current) {
                return uuids.history(i);
            }
        }
        return 0;
    }

    void onTick() {
        if (!configured) {
            return;
        }
        boolean late = pending != null && ctx.nowNanos - pending.sentNanos() > ctx.config.failover().witnessAnswerNanos();
        String silence = "the witness did not answer within " + ctx.config.failover().witnessAnswerNanos() / 1_000_000
                + " ms";
        if (late && pending.purpose() == Purpose.PROMOTE) {
            pending = null;
            ctx.roles.onPromoteVerdict(null, silence);
        } else if (late && pending.purpose() == Purpose.RESUME_IO) {
            resumeFailed(silence);
        }
        if (retryAtNanos != 0 && ctx.nowNanos - retryAtNanos >= 0 && reachable && pending == null
                && ctx.failover.holding()) {
            retryAtNanos = 0;
            send(WitnessRequest.Kind.OUTDATE_PEER, writeAlonePrevious, writeAloneNext, Purpose.WRITE_ALONE);
        }
        sendLoneCopyIfDue();
        maybeReport();
    }

    private boolean pairInSync() {
        NodeState s = ctx.state;
        return s.connected() && s.replication == ReplicationState.ESTABLISHED && s.disk == DiskState.UP_TO_DATE
                && s.peerDisk == DiskState.UP_TO_DATE;
    }

    /** Reports the generation while the pair is connected, in sync and both UpToDate. */
    void maybeReport() {
        if (!configured || !reachable) {
            return;
        }
        long current = ctx.meta.uuids().current();
        if (!pairInSync() || current == 0 || current == reportedCurrent) {
            return;
        }
        reportedCurrent = current;
        GenerationUuids uuids = ctx.meta.uuids();
        List<Long> ancestors = new ArrayList<>();
        if (uuids.bitmap() != 0 && uuids.bitmap() != current) {
            ancestors.add(uuids.bitmap());
        }
        for (int i = 0; i < GenerationUuids.HISTORY_SIZE; i++) {
            long older = uuids.history(i);
            if (older != 0 && older != current && !ancestors.contains(older)) {
                ancestors.add(older);
            }
        }
        ctx.actions.sendToWitness(new WitnessReport(current, WitnessReport.IN_SYNC, ancestors));
    }
}
