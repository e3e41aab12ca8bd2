package io.repl.protocol;

/**
 * Every message type, its 16-bit wire code, the connection phase it may appear in and the
 * bound on its body length. The decoder checks the bound from the header alone, before it
 * allocates anything for the body.
 */
public enum MessageType {
    HELLO(1, Phase.HANDSHAKE, Hello.BODY_BYTES_MAX, false),
    AUTH_RESPONSE(2, Phase.HANDSHAKE, AuthResponse.BODY_BYTES, false),
    STATE(3, Phase.SESSION, PeerState.BODY_BYTES, false),
    UUIDS(4, Phase.SESSION, GenerationUuids.BODY_BYTES_MAX, false),
    SIZES(5, Phase.SESSION, DeviceSizes.BODY_BYTES, false),
    DATA(6, Phase.SESSION, DataWrite.FIELDS_BYTES, true),
    RECV_ACK(7, Phase.SESSION, ReceiveAck.BODY_BYTES, false),
    WRITE_ACK(8, Phase.SESSION, WriteAck.BODY_BYTES, false),
    NEG_ACK(9, Phase.SESSION, NegativeAck.BODY_BYTES, false),
    BARRIER(10, Phase.SESSION, Barrier.BODY_BYTES, false),
    BARRIER_ACK(11, Phase.SESSION, BarrierAck.BODY_BYTES, false),
    PING(12, Phase.SESSION, Ping.BODY_BYTES, false),
    PING_ACK(13, Phase.SESSION, PingAck.BODY_BYTES, false),
    BITMAP(14, Phase.SESSION, BitmapChunk.BODY_BYTES_MAX, false),
    RS_REQUEST(15, Phase.SESSION, ResyncRequest.BODY_BYTES, false),
    RS_DATA(16, Phase.SESSION, ResyncData.FIELDS_BYTES, true),
    RS_NEG_ACK(17, Phase.SESSION, ResyncNegativeAck.BODY_BYTES, false),
    CSUM_REQUEST(18, Phase.SESSION, ChecksumRequest.BODY_BYTES_MAX, false),
    CSUM_REPLY(19, Phase.SESSION, ChecksumReply.FIELDS_BYTES, true),
    OV_REQUEST(20, Phase.SESSION, VerifyRequest.BODY_BYTES, false),
    OV_REPLY(21, Phase.SESSION, VerifyReply.BODY_BYTES_MAX, false),
    OUT_OF_SYNC(22, Phase.SESSION, OutOfSync.BODY_BYTES, false),
    DISCONNECT(23, Phase.ANY, Disconnect.BODY_BYTES_MAX, false),
    WITNESS_REPORT(24, Phase.SESSION, WitnessReport.BODY_BYTES_MAX, false),
    WITNESS_REQUEST(25, Phase.SESSION, WitnessRequest.BODY_BYTES, false),
    WITNESS_VERDICT(26, Phase.SESSION, WitnessVerdict.BODY_BYTES_MAX, false),
    READ_REQUEST(27, Phase.SESSION, ReadRequest.BODY_BYTES, false),
    READ_REPLY(28, Phase.SESSION, ReadReply.FIELDS_BYTES, true),
    READ_NEG_ACK(29, Phase.SESSION, ReadNegativeAck.BODY_BYTES, false);

    /** When a message type may be sent. */
    public enum Phase {
        /** Only before authentication has completed. */
        HANDSHAKE,
        /** Only after authentication has completed. */
        SESSION,
        /** At any time. */
        ANY
    }

    private static final MessageType[] BY_CODE = new MessageType[READ_NEG_ACK.code + 1];

    static {
        for (MessageType type : values()) {
            BY_CODE[type.code] = type;
        }
    }

    private final int code;
    private final Phase phase;
    private final int fieldsBytesMax;
    private final boolean carriesBlock;

    MessageType(int code, Phase phase, int fieldsBytesMax, boolean carriesBlock) {
        this.code = code;
        this.phase = phase;
        this.fieldsBytesMax = fieldsBytesMax;
        this.carriesBlock = carriesBlock;
    }

    /** The 16-bit code in the frame header. */
    public int code() {
        return code;
    }

    /** The phase this type belongs to. */
    public Phase phase() {
        return phase;
    }

    /** True for DATA, RS_DATA, CSUM_REPLY and READ_REPLY, whose bodies end with a (possibly LZ4) block. */
    public boolean carriesBlock() {
        return carriesBlock;
    }

    /** True when this type may appear while the connection is in {@code current}. */
    public boolean allowedIn(Phase current) {
        return phase == Phase.ANY || phase == current;
    }

    /**
     * The largest body this type may have. Block carriers add the negotiated block size to
     * their fixed fields; a compressed block is never larger than the block itself.
     */
    public int bodyBytesMax(int blockBytesMax) {
        return carriesBlock ? fieldsBytesMax + blockBytesMax : fieldsBytesMax;
    }

    /** The type with this wire code, or null when the code is unknown. */
    public static MessageType fromCode(int code) {
        return code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    /** The smallest and largest known codes, for error messages. */
    static String knownCodes() {
        return "1.." + READ_NEG_ACK.code;
    }
}
