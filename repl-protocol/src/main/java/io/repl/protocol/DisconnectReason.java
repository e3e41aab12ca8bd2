package io.repl.protocol;

/** Why a node closes the connection, as sent in DISCONNECT. */
public enum DisconnectReason {
    /** An operator asked for it (disconnect, down). */
    OPERATOR(1),
    /** The agent is shutting down. */
    SHUTDOWN(2),
    /** The peer's authentication response was wrong; no detail is given to the peer. */
    AUTH_FAILED(3),
    /** The version ranges do not overlap. */
    VERSION_MISMATCH(4),
    /** The peer names a different resource. */
    WRONG_RESOURCE(5),
    /** The peer is not the node the configuration names. */
    WRONG_PEER(6),
    /** The peer sent something the protocol does not allow. */
    PROTOCOL_ERROR(7),
    /** Both nodes wrote independently; the data will not be merged. */
    SPLIT_BRAIN(8),
    /** The generation UUIDs are unrelated: different data sets. */
    UNRELATED_DATA(9),
    /** A local failure, such as the disk failing. */
    LOCAL_ERROR(10);

    private final int code;

    DisconnectReason(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    static DisconnectReason fromCode(String field, int code) {
        for (DisconnectReason r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        throw new ProtocolException(field, "unknown disconnect reason " + code + "; known are 1.." + values().length);
    }
}
