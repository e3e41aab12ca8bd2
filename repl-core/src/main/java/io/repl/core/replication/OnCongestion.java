package io.repl.core.replication;

/**
 * What a Primary does when its link to the peer is congested (the driver reports the link's send
 * queue above its mark through {@link ReplicationCore#onPeerWritable}); DRBD's
 * {@code on-congestion}.
 */
public enum OnCongestion {
    /**
     * New writes wait until the link drains: a writer faster than the link is held to its pace,
     * and the peer stays current. The default, and the only policy with protocol C.
     */
    BLOCK,
    /**
     * The Primary goes Ahead and its peer Behind: new writes go to the local disk and the bitmap
     * only (the peer is told which blocks with OUT_OF_SYNC, and its copy is Outdated); once the
     * link drains, the marked blocks are resynced. Protocol A only.
     */
    PULL_AHEAD
}
