package io.repl.protocol;

/**
 * The protocol versions this build can encode and decode.
 *
 * <p>Handshake frames (HELLO, AUTH_RESPONSE and a DISCONNECT sent during the handshake)
 * always carry {@link #HANDSHAKE_FRAME_VERSION} in their header, whatever versions the nodes
 * speak, so that any two builds can read each other's HELLO and then agree on a version.
 */
public final class ProtocolVersion {
    /**
     * The oldest session protocol version this build speaks. Version 2 added the goodbye, the
     * deposed flag and the witness messages; a version 1 node never says goodbye and never
     * outdates itself when it loses its Primary, so it cannot take part in failover safety.
     * Version 3 added READ_REQUEST, READ_REPLY and READ_NEG_ACK, through which a node without a
     * usable disk reads from its peer, and STATE's ahead flag (pull-ahead); a version 2 peer
     * would take either for a protocol error. Version 4 grew SIZES by the disk's capacity and the
     * online-resize flags; a version 3 node would reject its length.
     */
    public static final int MIN = 4;
    /** The newest session protocol version this build speaks. */
    public static final int MAX = 4;
    /** The header version of every handshake-phase frame; frozen forever. */
    public static final int HANDSHAKE_FRAME_VERSION = 1;
    /** The largest value the 16-bit version fields can hold. */
    public static final int WIRE_MAX = 0xFFFF;

    private ProtocolVersion() {
    }

    /** True when this build can encode and decode session frames of {@code version}. */
    public static boolean isSupported(int version) {
        return version >= MIN && version <= MAX;
    }
}
