package io.repl.protocol;

/**
 * STATE: the sender's role, disk state and a few flags. Sent after the handshake and on every
 * change.
 *
 * @param role Primary or Secondary
 * @param disk the disk state
 * @param flags {@link #DISCARD_MY_DATA}, {@link #SYNC_PAUSED}, {@link #GOODBYE}, {@link #PRIMARY_SEEN},
 *     {@link #AHEAD}, {@link #INVALIDATE_PEER}
 */
public record PeerState(Role role, DiskState disk, int flags) implements Message {
    /** The operator asked this node to become SyncTarget whatever the UUIDs say. */
    public static final int DISCARD_MY_DATA = 1;
    /** An operator paused resync on this node. */
    public static final int SYNC_PAUSED = 1 << 1;
    /**
     * The sender will not write without the receiver until they meet again: an orderly
     * handover (demotion, or going down). The receiver may then be promoted alone.
     */
    public static final int GOODBYE = 1 << 2;
    /**
     * The sender has seen the receiver as Primary (an echo): it will treat a loss of the
     * connection as the loss of a Primary. Until a new Primary has seen this flag it must not
     * write alone, because its peer may still think itself free to be promoted.
     */
    public static final int PRIMARY_SEEN = 1 << 3;
    /**
     * The sender is Ahead (on-congestion pull-ahead): its link to the receiver was congested, so
     * it no longer mirrors its writes; it marks them in its bitmap and sends OUT_OF_SYNC for each
     * instead, until a resync. Every DATA sent before this STATE still arrives first. The receiver
     * is Behind: its copy is no longer current.
     */
    public static final int AHEAD = 1 << 4;
    /**
     * In a handshake's STATE: the operator ran invalidate-remote on the sender, whose copy is to
     * overwrite the receiver's in full. Honoured only where both copies hold the same generation,
     * the sender's is current and the receiver is not Primary; ignored outside a handshake.
     */
    public static final int INVALIDATE_PEER = 1 << 5;
    public static final int FLAGS_KNOWN = DISCARD_MY_DATA | SYNC_PAUSED | GOODBYE | PRIMARY_SEEN | AHEAD
            | INVALIDATE_PEER;
    public static final int BODY_BYTES = 1 + 1 + 2;

    public PeerState {
        Check.present("STATE.role", role);
        Check.present("STATE.disk", disk);
        Check.range("STATE.flags", flags, 0, 0xFFFF);
        Check.knownFlags("STATE.flags", flags, FLAGS_KNOWN);
    }

    public boolean has(int flag) {
        return (flags & flag) == flag;
    }

    @Override
    public MessageType type() {
        return MessageType.STATE;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u8(role.code());
        body.u8(disk.code());
        body.u16(flags);
    }

    static PeerState decode(BodyReader r) {
        Role role = Role.fromCode(r.field("role"), r.u8("role"));
        DiskState disk = DiskState.fromCode(r.field("disk"), r.u8("disk"));
        int flags = r.u16("flags");
        r.end();
        return new PeerState(role, disk, flags);
    }
}
