package io.repl.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every body rule, decoded from the wire: each case is a body that breaks exactly one rule,
 * the field the error must name and words the message must contain.
 */
class MessageValidationTest {
    private static final long DEVICE_MAX = Limits.DEVICE_BYTES_MAX;
    private static final int MIB32 = Limits.BLOCK_BYTES_MAX;

    private static RawFrames.Body body() {
        return new RawFrames.Body();
    }

    /** A DATA body: seq, offset, length, flags, encoding, reserved, then data. */
    private static byte[] data(long seq, long offset, long length, int flags, int encoding, int reserved, int payload) {
        return body().u64(seq).u64(offset).u32(length).u16(flags).u8(encoding).u8(reserved).zeros(payload).done();
    }

    private static byte[] hello(int min, int max, byte[] nonce, byte[] node) {
        return body().u16(min).u16(max).u32(0).bytes(nonce).u8(node.length).bytes(node).u8(2)
                .bytes(ascii("r0")).done();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] nonce() {
        return Samples.nonce(1);
    }

    private static byte[] bitmap(long start, long count, int encoding, int flags, byte... data) {
        return body().u64(start).u32(count).u8(encoding).u8(flags).u16(0).bytes(data).done();
    }

    private static byte[] range(long offset, long length) {
        return body().u64(offset).u32(length).done();
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                // DATA
                arguments("DATA zero length", MessageType.DATA, data(1, 0, 0, 0, 0, 0, 0), "DATA.length", "outside 1.."),
                arguments("DATA too long", MessageType.DATA, data(1, 0, MIB32 + 512L, 0, 0, 0, 0), "DATA.length",
                        "outside 1..33554432"),
                arguments("DATA length misaligned", MessageType.DATA, data(1, 0, 1000, 0, 0, 0, 1000), "DATA.length",
                        "not a multiple of 512"),
                arguments("DATA offset misaligned", MessageType.DATA, data(1, 100, 512, 0, 0, 0, 512), "DATA.offset",
                        "not a multiple of 512"),
                arguments("DATA offset with the sign bit", MessageType.DATA, data(1, Long.MIN_VALUE, 512, 0, 0, 0, 512),
                        "DATA.offset", "outside"),
                arguments("DATA offset plus length past the end", MessageType.DATA,
                        data(1, DEVICE_MAX - 512, 1024, 0, 0, 0, 1024), "DATA.length", "ends past the largest device"),
                arguments("DATA negative seq", MessageType.DATA, data(-1, 0, 512, 0, 0, 0, 512), "DATA.seq", "outside"),
                arguments("DATA unknown flags", MessageType.DATA, data(1, 0, 512, 0x40, 0, 0, 512), "DATA.flags",
                        "unknown bits 0x40"),
                arguments("DATA zeroes and trim together", MessageType.DATA,
                        data(1, 0, 512, DataWrite.ZEROES | DataWrite.TRIM, 0, 0, 0), "DATA.flags", "mutually exclusive"),
                arguments("DATA zeroes with a payload", MessageType.DATA, data(1, 0, 512, DataWrite.ZEROES, 0, 0, 512),
                        "DATA.data", "carries no block"),
                arguments("DATA trim with lz4 encoding", MessageType.DATA, data(1, 0, 512, DataWrite.TRIM, 1, 0, 0),
                        "DATA.encoding", "must be 0"),
                arguments("DATA payload shorter than length", MessageType.DATA, data(1, 0, 1024, 0, 0, 0, 512),
                        "DATA.data", "raw block has 512 bytes but length says 1024"),
                arguments("DATA unknown encoding", MessageType.DATA, data(1, 0, 512, 0, 7, 0, 512), "DATA.encoding",
                        "unknown block encoding 7"),
                arguments("DATA reserved byte set", MessageType.DATA, data(1, 0, 512, 0, 0, 9, 512), "DATA.reserved",
                        "must be 0"),
                arguments("DATA cut short", MessageType.DATA, body().u64(1).u64(0).done(), "DATA.length",
                        "body ends early"),
                // HELLO
                arguments("HELLO version 0", MessageType.HELLO, hello(0, 1, nonce(), ascii("beta")),
                        "HELLO.versionMin", "outside 1..65535"),
                arguments("HELLO max below min", MessageType.HELLO, hello(3, 2, nonce(), ascii("beta")),
                        "HELLO.versionMax", "outside 3..65535"),
                arguments("HELLO all-zero nonce", MessageType.HELLO, hello(1, 1, new byte[32], ascii("beta")),
                        "HELLO.nonce", "all zero"),
                arguments("HELLO empty name", MessageType.HELLO, hello(1, 1, nonce(), new byte[0]),
                        "HELLO.nodeNameLength", "outside 1..63"),
                arguments("HELLO name too long", MessageType.HELLO, hello(1, 1, nonce(), ascii("n".repeat(64))),
                        "HELLO.nodeNameLength", "64 is outside 1..63"),
                arguments("HELLO name with a newline", MessageType.HELLO, hello(1, 1, nonce(), ascii("be\nta")),
                        "HELLO.nodeName", "U+000A at index 2"),
                arguments("HELLO name starting with a dot", MessageType.HELLO, hello(1, 1, nonce(), ascii(".beta")),
                        "HELLO.nodeName", "'.' at index 0"),
                arguments("HELLO trailing bytes", MessageType.HELLO,
                        body().bytes(hello(1, 1, nonce(), ascii("beta"))).u8(0).done(), "HELLO.length",
                        "1 unexpected bytes"),
                arguments("AUTH_RESPONSE short", MessageType.AUTH_RESPONSE, new byte[31], "AUTH_RESPONSE.mac",
                        "32 bytes needed, 31 left"),
                // STATE
                arguments("STATE unknown role", MessageType.STATE, body().u8(2).u8(0).u16(0).done(), "STATE.role",
                        "unknown role 2"),
                arguments("STATE unknown disk state", MessageType.STATE, body().u8(0).u8(7).u16(0).done(), "STATE.disk",
                        "unknown disk state 7"),
                arguments("STATE unknown flags", MessageType.STATE, body().u8(0).u8(0).u16(0x8000).done(),
                        "STATE.flags", "unknown bits 0x8000"),
                // UUIDS
                arguments("UUIDS too many history entries", MessageType.UUIDS,
                        body().u64(1).u64(2).u64(0).u32(0).u16(5).done(), "UUIDS.historyCount",
                        "5 is outside 0..4"),
                arguments("UUIDS count larger than the body", MessageType.UUIDS,
                        body().u64(1).u64(2).u64(0).u32(0).u16(2).zeros(8).done(), "UUIDS.history", "body ends early"),
                arguments("UUIDS unknown flags", MessageType.UUIDS, body().u64(1).u64(2).u64(0).u32(32).u16(0).done(),
                        "UUIDS.flags", "unknown bits 0x20"),
                arguments("UUIDS split-as-primary without a bitmap generation", MessageType.UUIDS,
                        body().u64(1).u64(0).u64(0).u32(16).u16(0).done(), "UUIDS.flags", "without a bitmap"),
                arguments("UUIDS negative out-of-sync count", MessageType.UUIDS,
                        body().u64(1).u64(2).u64(-1).u32(0).u16(0).done(), "UUIDS.outOfSyncBlocks", "outside"),
                // SIZES
                arguments("SIZES logical block not a power of two", MessageType.SIZES,
                        body().u64(0).u32(4096).u32(1536).u64(0).u32(0).u32(0).done(), "SIZES.logicalBlockBytes", "not a power of two"),
                arguments("SIZES logical block too large", MessageType.SIZES, body().u64(0).u32(4096).u32(8192).u64(0).u32(0).u32(0).done(),
                        "SIZES.logicalBlockBytes", "outside 512..4096"),
                arguments("SIZES device not a multiple of the block", MessageType.SIZES,
                        body().u64(4096 + 512).u32(4096).u32(4096).u64(0).u32(0).u32(0).done(), "SIZES.deviceBytes",
                        "not a multiple of 4096"),
                arguments("SIZES request limit too large", MessageType.SIZES,
                        body().u64(0).u32(MIB32 + 512L).u32(512).u64(0).u32(0).u32(0).done(), "SIZES.requestBytesMax", "outside 512.."),
                arguments("SIZES device too large", MessageType.SIZES, body().u64(DEVICE_MAX + 4096).u32(512).u32(512)
                        .u64(0).u32(0).u32(0).done(), "SIZES.deviceBytes", "outside 0.."),
                arguments("SIZES unknown flags", MessageType.SIZES, body().u64(0).u32(512).u32(512).u64(0).u32(0x40)
                        .u32(0).done(), "SIZES.flags", "unknown bits 0x40"),
                arguments("SIZES request and done at once", MessageType.SIZES, body().u64(0).u32(512).u32(512).u64(0)
                        .u32(3).u32(0).done(), "SIZES.flags", "exclude each other"),
                arguments("SIZES assume-clean without a request", MessageType.SIZES, body().u64(0).u32(512).u32(512)
                        .u64(0).u32(8).u32(0).done(), "SIZES.flags", "belong to a resize request"),
                arguments("SIZES reserved not zero", MessageType.SIZES, body().u64(0).u32(512).u32(512).u64(0).u32(0)
                        .u32(1).done(), "SIZES.reserved", "must be 0"),
                // Acks and barriers
                arguments("NEG_ACK errno 0", MessageType.NEG_ACK, body().u64(1).u32(0).done(), "NEG_ACK.errno",
                        "0 is outside 1..4095"),
                arguments("NEG_ACK errno too large", MessageType.NEG_ACK, body().u64(1).u32(5000).done(),
                        "NEG_ACK.errno", "outside 1..4095"),
                arguments("WRITE_ACK negative seq", MessageType.WRITE_ACK, body().u64(-5).done(), "WRITE_ACK.seq",
                        "outside"),
                arguments("RECV_ACK too short", MessageType.RECV_ACK, body().u32(1).done(), "RECV_ACK.seq",
                        "body ends early"),
                arguments("BARRIER write count above 2^31-1", MessageType.BARRIER, body().u64(1).u32(0x8000_0000L).done(),
                        "BARRIER.writes", "outside 0..2147483647"),
                // BITMAP
                arguments("BITMAP raw start not word aligned", MessageType.BITMAP, bitmap(8, 8, 0, 0, (byte) 1),
                        "BITMAP.startBit", "not a multiple of 64"),
                arguments("BITMAP raw data length mismatch", MessageType.BITMAP, bitmap(0, 9, 0, 0, (byte) 1),
                        "BITMAP.data", "a raw chunk of 9 bits needs 2"),
                arguments("BITMAP raw spare bits set", MessageType.BITMAP, bitmap(0, 4, 0, 0, (byte) 0x10),
                        "BITMAP.data", "bits past bitCount"),
                arguments("BITMAP zero bits", MessageType.BITMAP, bitmap(0, 0, 0, 0, (byte) 0), "BITMAP.bitCount",
                        "outside 1.."),
                arguments("BITMAP no data", MessageType.BITMAP, bitmap(0, 8, 0, 0), "BITMAP.dataLength",
                        "0 is outside 1..65536"),
                arguments("BITMAP past the largest bitmap", MessageType.BITMAP,
                        bitmap(Limits.BITMAP_BITS_MAX - 64, 128, 0, 0, new byte[16]), "BITMAP.bitCount",
                        "ends past the largest bitmap"),
                arguments("BITMAP unknown flags", MessageType.BITMAP, bitmap(0, 8, 0, 2, (byte) 0), "BITMAP.flags",
                        "unknown bits 0x2"),
                arguments("BITMAP unknown encoding", MessageType.BITMAP, bitmap(0, 8, 5, 0, (byte) 0),
                        "BITMAP.encoding", "unknown bitmap encoding 5"),
                arguments("BITMAP rle runs short of bitCount", MessageType.BITMAP, bitmap(0, 10, 1, 0, (byte) 3, (byte) 3),
                        "BITMAP.data", "add up to 6 but bitCount is 10"),
                arguments("BITMAP rle runs past bitCount", MessageType.BITMAP, bitmap(0, 4, 1, 0, (byte) 3, (byte) 3),
                        "BITMAP.data", "more than bitCount"),
                arguments("BITMAP rle zero run after the first", MessageType.BITMAP,
                        bitmap(0, 4, 1, 0, (byte) 2, (byte) 0, (byte) 2), "BITMAP.data", "only the first run may be 0"),
                arguments("BITMAP rle overlong varint", MessageType.BITMAP,
                        bitmap(0, 4, 1, 0, (byte) 0x84, (byte) 0x00), "BITMAP.data", "not minimally encoded"),
                arguments("BITMAP rle varint cut off", MessageType.BITMAP, bitmap(0, 4, 1, 0, (byte) 0x84),
                        "BITMAP.data", "cut off"),
                arguments("BITMAP rle varint of six bytes", MessageType.BITMAP,
                        bitmap(0, 4, 1, 0, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 1),
                        "BITMAP.data", "longer than 5 bytes"),
                // Resync and verify
                arguments("RS_REQUEST misaligned offset", MessageType.RS_REQUEST, range(513, 512), "RS_REQUEST.offset",
                        "not a multiple of 512"),
                arguments("RS_REQUEST zero length", MessageType.RS_REQUEST, range(0, 0), "RS_REQUEST.length",
                        "0 is outside 1.."),
                arguments("OUT_OF_SYNC past the end", MessageType.OUT_OF_SYNC, range(DEVICE_MAX, 512),
                        "OUT_OF_SYNC.length", "ends past the largest device"),
                arguments("RS_NEG_ACK errno 0", MessageType.RS_NEG_ACK, body().u64(0).u32(512).u32(0).done(),
                        "RS_NEG_ACK.errno", "outside 1..4095"),
                arguments("RS_DATA length without data", MessageType.RS_DATA,
                        body().u64(0).u32(4096).u8(0).zeros(3).zeros(512).done(), "RS_DATA.data",
                        "raw block has 512 bytes but length says 4096"),
                arguments("CSUM_REQUEST unknown algorithm", MessageType.CSUM_REQUEST,
                        body().u64(0).u32(512).u8(9).u8(0).zeros(32).done(), "CSUM_REQUEST.algorithm",
                        "unknown digest algorithm 9"),
                arguments("CSUM_REQUEST digest too short", MessageType.CSUM_REQUEST,
                        body().u64(0).u32(512).u8(1).u8(0).zeros(4).done(), "CSUM_REQUEST.digest", "body ends early"),
                arguments("OV_REPLY digest too long", MessageType.OV_REPLY,
                        body().u64(0).u32(512).u8(2).u8(0).zeros(5).done(), "OV_REPLY.length", "1 unexpected bytes"),
                arguments("OV_REQUEST reserved byte set", MessageType.OV_REQUEST,
                        body().u64(0).u32(512).u8(1).u8(1).done(), "OV_REQUEST.reserved", "must be 0"),
                arguments("CSUM_REPLY unknown verdict", MessageType.CSUM_REPLY,
                        body().u64(0).u32(512).u8(2).u8(0).u16(0).done(), "CSUM_REPLY.verdict", "outside 0..1"),
                arguments("CSUM_REPLY in sync with data", MessageType.CSUM_REPLY,
                        body().u64(0).u32(512).u8(0).u8(0).u16(0).zeros(512).done(), "CSUM_REPLY.data",
                        "carries no block"),
                // DISCONNECT
                arguments("DISCONNECT unknown reason", MessageType.DISCONNECT, body().u16(99).u16(0).done(),
                        "DISCONNECT.reason", "unknown disconnect reason 99"),
                arguments("DISCONNECT detail too long", MessageType.DISCONNECT, body().u16(1).u16(513).zeros(512).done(),
                        "DISCONNECT.detailLength", "513 is outside 0..512"),
                arguments("DISCONNECT detail not UTF-8", MessageType.DISCONNECT,
                        body().u16(1).u16(2).u8(0xC3).u8(0x28).done(), "DISCONNECT.detail", "not valid UTF-8"),
                arguments("DISCONNECT detail with a control character", MessageType.DISCONNECT,
                        body().u16(1).u16(3).bytes(ascii("a\rb")).done(), "DISCONNECT.detail", "U+000D at index 1"),
                // WITNESS_REPORT
                arguments("WITNESS_REPORT generation 0", MessageType.WITNESS_REPORT, body().u64(0).u16(1).u16(0).done(),
                        "WITNESS_REPORT.current", "is 0"),
                arguments("WITNESS_REPORT unknown flags", MessageType.WITNESS_REPORT, body().u64(1).u16(2).u16(0).done(),
                        "WITNESS_REPORT.flags", "unknown bits 0x2"),
                arguments("WITNESS_REPORT too many ancestors", MessageType.WITNESS_REPORT,
                        body().u64(1).u16(0).u16(6).done(), "WITNESS_REPORT.ancestorCount", "outside 0..5"),
                arguments("WITNESS_REPORT ancestor 0", MessageType.WITNESS_REPORT,
                        body().u64(1).u16(0).u16(1).u64(0).done(), "WITNESS_REPORT.ancestors", "contains 0"),
                arguments("WITNESS_REPORT count larger than the body", MessageType.WITNESS_REPORT,
                        body().u64(1).u16(0).u16(2).u64(3).done(), "WITNESS_REPORT.ancestors", "body ends early"),
                // WITNESS_REQUEST
                arguments("WITNESS_REQUEST id 0", MessageType.WITNESS_REQUEST,
                        body().u32(0).u8(1).zeros(3).u64(1).u64(2).done(), "WITNESS_REQUEST.requestId", "outside 1.."),
                arguments("WITNESS_REQUEST unknown kind", MessageType.WITNESS_REQUEST,
                        body().u32(1).u8(9).zeros(3).u64(1).u64(2).done(), "WITNESS_REQUEST.kind", "unknown request kind 9"),
                arguments("WITNESS_REQUEST reserved", MessageType.WITNESS_REQUEST,
                        body().u32(1).u8(1).u8(0).u8(1).u8(0).u64(1).u64(2).done(), "WITNESS_REQUEST.reserved", "must be 0"),
                arguments("WITNESS_REQUEST unknown flags", MessageType.WITNESS_REQUEST,
                        body().u32(1).u8(1).u8(2).u8(0).u8(0).u64(1).u64(2).done(), "WITNESS_REQUEST.flags",
                        "unknown bits 0x2"),
                arguments("WITNESS_REQUEST next 0", MessageType.WITNESS_REQUEST,
                        body().u32(1).u8(2).zeros(3).u64(1).u64(0).done(), "WITNESS_REQUEST.next", "must not be 0"),
                arguments("WITNESS_REQUEST same generations", MessageType.WITNESS_REQUEST,
                        body().u32(1).u8(2).zeros(3).u64(5).u64(5).done(), "WITNESS_REQUEST.next", "must differ"),
                // WITNESS_VERDICT
                arguments("WITNESS_VERDICT unknown outcome", MessageType.WITNESS_VERDICT,
                        body().u32(1).u8(6).u8(0).u16(0).u64(1).u16(0).u16(0).done(), "WITNESS_VERDICT.outcome",
                        "unknown outcome 6"),
                arguments("WITNESS_VERDICT unknown flags", MessageType.WITNESS_VERDICT,
                        body().u32(1).u8(0).u8(0).u16(0).u64(1).u16(4).u16(0).done(), "WITNESS_VERDICT.flags",
                        "unknown bits 0x4"),
                arguments("WITNESS_VERDICT detail with a control character", MessageType.WITNESS_VERDICT,
                        body().u32(1).u8(0).u8(0).u16(1).u64(1).u16(0).u16(3).bytes(ascii("a\nb")).done(),
                        "WITNESS_VERDICT.detail", "U+000A at index 1"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rejectsBody(String rule, MessageType type, byte[] body, String field, String words) {
        WireSettings settings = type.phase() == MessageType.Phase.HANDSHAKE ? WireSettings.handshake() : Samples.SESSION;
        ByteBuffer frame = RawFrames.frame(type, body);
        ProtocolException e = assertThrows(ProtocolException.class, () -> new MessageDecoder(settings).decode(frame),
                rule);
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(words), "'" + words + "' missing from: " + e.getMessage());
    }

    /** A block received into a buffer of its own is held to the same rules. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rejectsBodyWhenBlocksArriveApart(String rule, MessageType type, byte[] body, String field, String words) {
        WireSettings settings = type.phase() == MessageType.Phase.HANDSHAKE ? WireSettings.handshake() : Samples.SESSION;
        ByteBuffer frame = RawFrames.frame(type, body);
        MessageDecoder decoder = new MessageDecoder(settings);
        decoder.blockBuffers(ByteBuffer::allocateDirect);
        ProtocolException e = assertThrows(ProtocolException.class, () -> decoder.decode(frame), rule);
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(words), "'" + words + "' missing from: " + e.getMessage());
    }

    /** The same rules hold for messages built locally, so a bad message cannot even be sent. */
    @Test
    void constructorsEnforceTheSameRules() {
        expect("DATA.offset", () -> DataWrite.of(1, 100, ByteBuffer.allocate(512), 0));
        expect("DATA.length", () -> DataWrite.of(1, 0, ByteBuffer.allocate(0), 0));
        expect("DATA.data", () -> new DataWrite(1, 0, 1024, 0, ByteBuffer.allocate(512)));
        expect("DATA.flags", () -> DataWrite.of(1, 0, ByteBuffer.allocate(512), 1 << 9));
        expect("HELLO.resourceName", () -> new Hello(1, 1, 0, Samples.nonce(1), "alpha", "r 0"));
        expect("HELLO.nonce", () -> new Hello(1, 1, 0, new byte[16], "alpha", "r0"));
        expect("UUIDS.historyCount", () -> new GenerationUuids(1, 1, List.of(1L, 2L, 3L, 4L, 5L), 0, 0));
        expect("UUIDS.flags", () -> new GenerationUuids(1, 0, List.of(), GenerationUuids.SPLIT_AS_PRIMARY, 0));
        expect("UUIDS.flags", () -> new GenerationUuids(1, 2, List.of(), 1 << 5, 0));
        expect("BITMAP.run", () -> BitmapChunk.rle(0, new long[] {-1}, false));
        expect("digest.bytes", () -> new Digest(DigestAlgorithm.SHA_256, new byte[4]));
        expect("DISCONNECT.detail", () -> new Disconnect(DisconnectReason.OPERATOR, "line\nbreak"));
        expect("DISCONNECT.detailLength", () -> new Disconnect(DisconnectReason.OPERATOR, "é".repeat(257)));
        expect("CSUM_REPLY.data", () -> new ChecksumReply(0, 512, true, ByteBuffer.allocate(512)));
        expect("config.localNode", () -> Names.requireValid("config.localNode", ""));
    }

    @Test
    void lz4BlockWithoutLz4AgreedIsRejected() {
        ByteBuffer wire = Samples.wire(DataWrite.of(1, 0, Samples.compressible(4096), 0), Samples.SESSION);
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> new MessageDecoder(Samples.SESSION_NO_LZ4).decode(wire));
        assertEquals("DATA.encoding", e.field());
        assertTrue(e.getMessage().contains("LZ4 was not agreed"), e.getMessage());
    }

    @Test
    void zeroBlockTravelsAsFieldsAloneAndOnlyWhenAgreed() {
        ByteBuffer wire = Samples.wire(ResyncData.zeroes(4096, 1 << 20), Samples.SESSION);
        assertEquals(FrameHeader.BYTES + ResyncData.FIELDS_BYTES, wire.remaining(), "no block bytes");
        WireSettings without = WireSettings.session(ProtocolVersion.MAX, Features.KNOWN & ~Features.ZERO_BLOCKS);
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> new MessageDecoder(without).decode(wire.duplicate()));
        assertEquals("RS_DATA.encoding", e.field());
        assertTrue(e.getMessage().contains("zero blocks were not agreed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> new FrameEncoder(without).encode(ResyncData.zeroes(0, 4096)),
                "sending one without the feature is a programmer error");
    }

    @Test
    void zeroBlockWithBytesOrBeyondTheLimitOrOutsideRsDataIsRejected() {
        ByteBuffer body = ByteBuffer.allocate(ResyncData.FIELDS_BYTES + 512);
        body.putLong(0).putInt(512).put((byte) 2).put(new byte[3]).put(new byte[512]).flip();
        ProtocolException e = assertThrows(ProtocolException.class, () -> new MessageDecoder(Samples.SESSION)
                .decode(RawFrames.frame(MessageType.RS_DATA, body.array())));
        assertEquals("RS_DATA.data", e.field());
        ByteBuffer huge = ByteBuffer.allocate(ResyncData.FIELDS_BYTES);
        huge.putLong(0).putInt(1 << 20).put((byte) 2).put(new byte[3]).flip();
        e = assertThrows(ProtocolException.class, () -> new MessageDecoder(Samples.SESSION.withBlockBytesMax(4096))
                .decode(RawFrames.frame(MessageType.RS_DATA, huge.array())));
        assertEquals("RS_DATA.length", e.field());
        ByteBuffer reply = ByteBuffer.allocate(ChecksumReply.FIELDS_BYTES);
        reply.putLong(0).putInt(512).put((byte) 1).put((byte) 2).putShort((short) 0).flip();
        e = assertThrows(ProtocolException.class, () -> new MessageDecoder(Samples.SESSION)
                .decode(RawFrames.frame(MessageType.CSUM_REPLY, reply.array())));
        assertEquals("CSUM_REPLY.encoding", e.field());
        expect("RS_DATA.data", () -> new ResyncData(0, 512, true, ByteBuffer.allocate(512)));
    }

    @Test
    void encodingAboveTheNegotiatedBlockLimitIsAProgrammerError() {
        FrameEncoder encoder = new FrameEncoder(Samples.SESSION_NO_LZ4.withBlockBytesMax(4096));
        assertThrows(IllegalStateException.class,
                () -> encoder.encode(DataWrite.of(1, 0, ByteBuffer.allocate(8192), 0)));
    }

    private static void expect(String field, Executable build) {
        ProtocolException e = assertThrows(ProtocolException.class, build, field);
        assertEquals(field, e.field(), e.getMessage());
    }
}
