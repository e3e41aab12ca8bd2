package io.repl.protocol;

/**
 * A peer protocol message. Every implementation is an immutable record validated in its
 * constructor, so a message that exists is a message the protocol allows, whether it was built
 * locally or decoded from the wire.
 */
public sealed interface Message permits Hello, AuthResponse, PeerState, GenerationUuids, DeviceSizes,
        DataWrite, ReceiveAck, WriteAck, NegativeAck, Barrier, BarrierAck, Ping, PingAck, BitmapChunk,
        ResyncRequest, ResyncData, ResyncNegativeAck, ChecksumRequest, ChecksumReply, VerifyRequest,
        VerifyReply, OutOfSync, Disconnect, WitnessReport, WitnessRequest, WitnessVerdict, ReadRequest, ReadReply,
        ReadNegativeAck {

    /** The wire type of this message. */
    MessageType type();

    /** Writes the body; called by {@link FrameEncoder}. */
    void encode(BodyWriter body);
}
