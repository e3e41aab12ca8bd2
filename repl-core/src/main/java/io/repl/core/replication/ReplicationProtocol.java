package io.repl.core.replication;

/** When a Primary acknowledges a mirrored write to the front end (PRODUCT.md, "Mirrors every write"). */
public enum ReplicationProtocol {
    /** Local disk done and the DATA handed to the network. */
    A,
    /** Local disk done and the peer reported the write received. */
    B,
    /** Local disk done and the peer reported the write on its disk. */
    C
}
