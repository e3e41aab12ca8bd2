package io.repl.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;

/** One or more valid instances of every message type, shared by the round-trip and fuzz tests. */
final class Samples {
    static final WireSettings SESSION = WireSettings.session(ProtocolVersion.MAX, Features.KNOWN);
    static final WireSettings SESSION_NO_LZ4 = WireSettings.session(ProtocolVersion.MAX, Features.KNOWN & ~Features.LZ4);

    private Samples() {
    }

    static byte[] nonce(int seed) {
        byte[] n = new byte[Limits.NONCE_BYTES];
        new Random(seed).nextBytes(n);
        n[0] |= 1;
        return n;
    }

    /** Text-like bytes, which LZ4 compresses well. */
    static ByteBuffer compressible(int length) {
        byte[] b = new byte[length];
        byte[] line = "the quick brown fox jumps over the lazy replica\n".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < length; i++) {
            b[i] = line[i % line.length];
        }
        return ByteBuffer.wrap(b);
    }

    /** Random bytes, which LZ4 cannot compress, so they travel raw. */
    static ByteBuffer incompressible(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return ByteBuffer.wrap(b);
    }

    static List<Message> handshakeMessages() {
        return List.of(
                new Hello(1, 3, Features.KNOWN, nonce(1), "alpha", "r0"),
                new Hello(1, 1, 0, nonce(2), "a".repeat(63), "res.1_b-2".repeat(7)),
                new AuthResponse(nonce(3)),
                new Disconnect(DisconnectReason.AUTH_FAILED, ""));
    }

    static List<Message> sessionMessages() {
        return List.of(
                new PeerState(Role.PRIMARY, DiskState.UP_TO_DATE, PeerState.SYNC_PAUSED),
                new PeerState(Role.SECONDARY, DiskState.DISKLESS, 0),
                new GenerationUuids(0x1234_5678_9abc_def0L, 0, List.of(-1L, 42L, 7L, 9L),
                        GenerationUuids.CONSISTENT | GenerationUuids.WAS_PRIMARY, 12345),
                new GenerationUuids(-5, 6, List.of(), GenerationUuids.SPLIT_AS_PRIMARY, 0),
                new DeviceSizes(8L << 30, 1 << 20, 4096),
                new DeviceSizes(0, 512, 512),
                new DeviceSizes(64L << 30, 1 << 20, 4096, 128L << 30,
                        DeviceSizes.RESIZE_REQUEST | DeviceSizes.ASSUME_CLEAN | DeviceSizes.FORCE),
                new DeviceSizes(64L << 30, 1 << 20, 4096, 64L << 30, DeviceSizes.RESIZE_DONE),
                DataWrite.of(1, 4096, compressible(8192), DataWrite.FUA),
                DataWrite.of(2, 0, incompressible(4096, 2), DataWrite.FLUSH),
                DataWrite.of(Long.MAX_VALUE, Limits.DEVICE_BYTES_MAX - 512, incompressible(512, 3), 0),
                DataWrite.withoutData(3, 1 << 20, 1 << 20, DataWrite.ZEROES, DataWrite.FUA),
                DataWrite.withoutData(4, 0, Limits.BLOCK_BYTES_MAX, DataWrite.TRIM, 0),
                new ReceiveAck(1),
                new WriteAck(Long.MAX_VALUE),
                new NegativeAck(5, 5),
                new Barrier(7, 100),
                new BarrierAck(7, 100),
                new Ping(-1),
                new PingAck(99),
                BitmapChunk.raw(64, 12, new byte[] {(byte) 0xF0, 0x0A}, false),
                BitmapChunk.rle(0, new long[] {0, 5, 1_000_000, 3}, true),
                BitmapChunk.rle(1 << 20, new long[] {0xFFFF_FFFFL}, false),
                new ResyncRequest(512, 65536),
                new ResyncData(1 << 20, compressible(65536)),
                new ResyncData(0, incompressible(1024, 4)),
                ResyncData.zeroes(1 << 21, 1 << 20),
                new ResyncNegativeAck(1024, 4096, 61),
                new ReadRequest(1, 4096, 65536),
                new ReadRequest(Long.MAX_VALUE, Limits.DEVICE_BYTES_MAX - 512, 512),
                new ReadReply(7, compressible(65536)),
                new ReadReply(-1, incompressible(512, 5)),
                new ReadNegativeAck(3, 5),
                new ChecksumRequest(4096, 4096, Digest.of(DigestAlgorithm.SHA_256, compressible(4096))),
                ChecksumReply.matched(4096, 4096),
                ChecksumReply.differs(8192, compressible(4096)),
                new VerifyRequest(0, 1 << 20, DigestAlgorithm.CRC32C),
                new VerifyReply(0, 1 << 20, Digest.of(DigestAlgorithm.CRC32C, compressible(1 << 20))),
                new OutOfSync(1L << 40, 4096),
                new Disconnect(DisconnectReason.SPLIT_BRAIN, "split brain détecté: both were Primary"),
                new PeerState(Role.SECONDARY, DiskState.UP_TO_DATE, PeerState.GOODBYE | PeerState.PRIMARY_SEEN),
                new PeerState(Role.PRIMARY, DiskState.UP_TO_DATE, PeerState.AHEAD),
                new PeerState(Role.SECONDARY, DiskState.UP_TO_DATE, PeerState.INVALIDATE_PEER),
                new GenerationUuids(7, 8, List.of(9L), GenerationUuids.CONSISTENT | GenerationUuids.DEPOSED, 0),
                new WitnessReport(0x1234L, WitnessReport.IN_SYNC, List.of(5L, 6L, 7L, 8L, 9L)),
                new WitnessReport(-1L, 0, List.of()),
                new WitnessRequest(1, WitnessRequest.Kind.OUTDATE_PEER, WitnessRequest.IN_SYNC, 5, 6),
                new WitnessRequest(0xFFFF_FFFFL, WitnessRequest.Kind.PROMOTE, 0, -1, 1),
                new WitnessRequest(7, WitnessRequest.Kind.FORCED, 0, 0, 4),
                new WitnessRequest(8, WitnessRequest.Kind.RESUME, 0, 3, 4),
                new WitnessVerdict(1, WitnessVerdict.Outcome.GRANTED, 6, 0b01, 0, "granted: alpha writes alone"),
                new WitnessVerdict(0, WitnessVerdict.Outcome.DEPOSED, -7, 0b10, WitnessVerdict.FORCED, ""));
    }

    /** Encodes into one contiguous buffer. */
    static ByteBuffer wire(Message m, WireSettings settings) {
        return new FrameEncoder(settings).encode(m).toByteBuffer();
    }

    static WireSettings settingsFor(Message m) {
        return m.type().phase() == MessageType.Phase.HANDSHAKE ? WireSettings.handshake() : SESSION;
    }
}
