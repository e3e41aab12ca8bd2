package io.repl.core.replication;

/**
 * The tunables of one resource's core. Both nodes use the same values (the same TOML file).
 *
 * @param resourceName for hooks and logs
 * @param protocol A, B or C
 * @param requestBytesMax the largest front-end write and resync request, a multiple of 4096
 * @param writesInFlightMax writes the Primary tracks until the peer has flushed them; bounds
 *     the Secondary's queue as well
 * @param queuedRequestsMax front-end requests waiting for admission (and front-end flushes
 *     pending); the front end keeps fewer in flight, so more is a driver bug, logged as one
 * @param epochWritesMax writes per barrier epoch before a BARRIER closes it
 * @param resyncWindow outstanding RS_REQUESTs of a SyncTarget
 * @param resyncFlushBlocks blocks a SyncTarget writes before a flush lets it clear their bits
 * @param tickNanos period of the core's timer
 * @param pingIntervalNanos idle time before a PING
 * @param pingTimeoutNanos a PING unanswered this long means the peer is dead
 * @param requestTimeoutNanos a write, barrier or resync request unanswered this long stalls the link
 * @param connectOnStart whether the core wants a connection from the start (Connecting) or
 *     waits for {@code connect} (StandAlone)
 * @param failover fencing, witness and quorum rules (docs/FAILOVER.md)
 * @param onIoError what a failed data write or read does: detach the disk and serve through
 *     the peer, or pass the error on to the client (docs/FAULTS.md)
 * @param onCongestion what a congested link to the peer does to new writes: hold them (block), or
 *     let the Primary go Ahead (pull-ahead, protocol A only; see {@link AheadBehind})
 * @param sync checksum resync, verify, the rate controller and the after-split-brain policies
 */
public record CoreConfig(String resourceName, ReplicationProtocol protocol, int requestBytesMax,
                         int writesInFlightMax, int queuedRequestsMax, int epochWritesMax, int resyncWindow,
                         int resyncFlushBlocks, long tickNanos, long pingIntervalNanos, long pingTimeoutNanos,
                         long requestTimeoutNanos, boolean connectOnStart, FailoverPolicy failover,
                         OnIoError onIoError, OnCongestion onCongestion, SyncPolicy sync) {

    private static final long MILLIS = 1_000_000L;

    public CoreConfig {
        check(requestBytesMax >= ByteRange.BLOCK_BYTES && requestBytesMax % ByteRange.BLOCK_BYTES == 0
                && requestBytesMax <= 1 << 20, "requestBytesMax must be a multiple of 4096 up to 1 MiB");
        check(writesInFlightMax >= 1 && writesInFlightMax <= 1 << 16, "writesInFlightMax 1..65536");
        check(queuedRequestsMax >= 1 && queuedRequestsMax <= 1 << 16, "queuedRequestsMax 1..65536");
        check(epochWritesMax >= 1, "epochWritesMax >= 1");
        check(resyncWindow >= 1 && resyncWindow <= 1024, "resyncWindow 1..1024");
        check(resyncFlushBlocks >= 1, "resyncFlushBlocks >= 1");
        check(tickNanos > 0 && pingIntervalNanos >= tickNanos && pingTimeoutNanos >= tickNanos
                && requestTimeoutNanos >= tickNanos, "timeouts must be at least one tick");
        check(failover != null, "failover policy must be given");
        check(onIoError != null, "onIoError must be given");
        check(onCongestion != null, "onCongestion must be given");
        check(sync != null, "sync policy must be given");
        check(onCongestion != OnCongestion.PULL_AHEAD || protocol == ReplicationProtocol.A,
                "on-congestion pull-ahead needs protocol A: a write pulled ahead is acknowledged once local,"
                        + " which is what A promises and B and C do not; with B or C only block is allowed");
    }

    /** {@code [disk] on-io-error}: what a failed read or write of the data disk does. */
    public enum OnIoError {
        /**
         * The node drops its disk and goes Diskless; a Primary goes on serving every read and
         * write through its peer. Where that would drop the last current copy the error is
         * passed on instead.
         */
        DETACH,
        /** The error goes to the client (on a Secondary: to the Primary) and the range is marked out of sync. */
        PASS_ON
    }

    /** Defaults close to DRBD's: ping every 10 s, 5 s to answer, 60 s for a request. */
    public static CoreConfig defaults(String resourceName, ReplicationProtocol protocol) {
        return new CoreConfig(resourceName, protocol, 1 << 20, 1024, 4096, 256, 16, 8192,
                100 * MILLIS, 10_000 * MILLIS, 5_000 * MILLIS, 60_000 * MILLIS, true, FailoverPolicy.defaults(),
                OnIoError.DETACH, OnCongestion.BLOCK, SyncPolicy.defaults());
    }

    public CoreConfig withProtocol(ReplicationProtocol next) {
        return new CoreConfig(resourceName, next, requestBytesMax, writesInFlightMax, queuedRequestsMax,
                epochWritesMax, resyncWindow, resyncFlushBlocks, tickNanos, pingIntervalNanos, pingTimeoutNanos,
                requestTimeoutNanos, connectOnStart, failover, onIoError, onCongestion, sync);
    }

    public CoreConfig withOnIoError(OnIoError next) {
        return new CoreConfig(resourceName, protocol, requestBytesMax, writesInFlightMax, queuedRequestsMax,
                epochWritesMax, resyncWindow, resyncFlushBlocks, tickNanos, pingIntervalNanos, pingTimeoutNanos,
                requestTimeoutNanos, connectOnStart, failover, next, onCongestion, sync);
    }

    public CoreConfig withOnCongestion(OnCongestion next) {
        return new CoreConfig(resourceName, protocol, requestBytesMax, writesInFlightMax, queuedRequestsMax,
                epochWritesMax, resyncWindow, resyncFlushBlocks, tickNanos, pingIntervalNanos, pingTimeoutNanos,
                requestTimeoutNanos, connectOnStart, failover, onIoError, next, sync);
    }

    public CoreConfig withSync(SyncPolicy next) {
        return new CoreConfig(resourceName, protocol, requestBytesMax, writesInFlightMax, queuedRequestsMax,
                epochWritesMax, resyncWindow, resyncFlushBlocks, tickNanos, pingIntervalNanos, pingTimeoutNanos,
                requestTimeoutNanos, connectOnStart, failover, onIoError, onCongestion, next);
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
