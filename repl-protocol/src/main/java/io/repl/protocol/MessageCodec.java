package io.repl.protocol;

/**
 * Interprets a frame's body as its message. Every field is checked; a body that is short, long,
 * or holds a value the protocol does not allow becomes a {@link ProtocolException}.
 */
public final class MessageCodec {
    private MessageCodec() {
    }

    /**
     * Decodes the message in {@code frame}.
     *
     * @param settings the connection's settings (whether LZ4 was agreed, the block limit)
     * @throws ProtocolException when the body breaks a rule
     */
    public static Message decode(Frame frame, WireSettings settings) {
        return decode(frame, settings, null);
    }

    /** As {@link #decode(Frame, WireSettings)}; an LZ4 block received apart is decompressed into {@code blockBuffers}. */
    static Message decode(Frame frame, WireSettings settings, FrameDecoder.BlockBuffers blockBuffers) {
        if (!frame.type().allowedIn(settings.phase())) {
            throw new ProtocolException("header.type", frame.type() + " is not allowed in the " + settings.phase()
                    + " phase");
        }
        BodyReader r = new BodyReader(frame.type(), frame.body(), frame.block(), settings, blockBuffers);
        switch (frame.type()) {
            case HELLO: return Hello.decode(r);
            case AUTH_RESPONSE: return AuthResponse.decode(r);
            case STATE: return PeerState.decode(r);
            case UUIDS: return GenerationUuids.decode(r);
            case SIZES: return DeviceSizes.decode(r);
            case DATA: return DataWrite.decode(r);
            case RECV_ACK: return ReceiveAck.decode(r);
            case WRITE_ACK: return WriteAck.decode(r);
            case NEG_ACK: return NegativeAck.decode(r);
            case BARRIER: return Barrier.decode(r);
            case BARRIER_ACK: return BarrierAck.decode(r);
            case PING: return Ping.decode(r);
            case PING_ACK: return PingAck.decode(r);
            case BITMAP: return BitmapChunk.decode(r);
            case RS_REQUEST: return ResyncRequest.decode(r);
            case RS_DATA: return ResyncData.decode(r);
            case RS_NEG_ACK: return ResyncNegativeAck.decode(r);
            case CSUM_REQUEST: return ChecksumRequest.decode(r);
            case CSUM_REPLY: return ChecksumReply.decode(r);
            case OV_REQUEST: return VerifyRequest.decode(r);
            case OV_REPLY: return VerifyReply.decode(r);
            case OUT_OF_SYNC: return OutOfSync.decode(r);
            case DISCONNECT: return Disconnect.decode(r);
            case WITNESS_REPORT: return WitnessReport.decode(r);
            case WITNESS_REQUEST: return WitnessRequest.decode(r);
            case WITNESS_VERDICT: return WitnessVerdict.decode(r);
            case READ_REQUEST: return ReadRequest.decode(r);
            case READ_REPLY: return ReadReply.decode(r);
            case READ_NEG_ACK: return ReadNegativeAck.decode(r);
            default: throw new IllegalStateException("no decoder for " + frame.type());
        }
    }
}
