package io.repl.core.replication;

/** The connection states operators see, spelled as in PRODUCT.md. */
public enum ConnectionState {
    /** No connection and none wanted (after disconnect, split brain or a refusal). */
    STAND_ALONE("StandAlone"),
    /** A connection is wanted; the driver keeps trying to establish one. */
    CONNECTING("Connecting"),
    /** An authenticated connection exists. */
    CONNECTED("Connected"),
    /** The core asked the driver to close the connection and waits for its confirmation. */
    DISCONNECTING("Disconnecting");

    private final String displayName;

    ConnectionState(String displayName) {
        this.displayName = displayName;
    }

    public String displayName() {
        return displayName;
    }
}
