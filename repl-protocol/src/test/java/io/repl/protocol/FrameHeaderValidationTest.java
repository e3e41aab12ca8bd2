package io.repl.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Every header rule, each with the field it must name. */
class FrameHeaderValidationTest {
    private static final int MAGIC = FrameHeader.MAGIC;

    private static ProtocolException reject(ByteBuffer bytes, WireSettings settings, String field) {
        FrameDecoder decoder = new FrameDecoder(settings);
        ProtocolException e = assertThrows(ProtocolException.class, () -> {
            while (decoder.decode(bytes) != null) {
                // Keep going until the bad frame.
            }
        });
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
        assertTrue(decoder.isFailed());
        return e;
    }

    @Test
    void badMagicFailsAfterFourBytes() {
        FrameDecoder decoder = new FrameDecoder();
        assertNull(decoder.decode(ByteBuffer.wrap("GE".getBytes(StandardCharsets.US_ASCII))));
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> decoder.decode(ByteBuffer.wrap("T /".getBytes(StandardCharsets.US_ASCII))));
        assertEquals("header.magic", e.field());
        assertTrue(e.getMessage().contains("0x47455420") && e.getMessage().contains("0x5245504c"), e.getMessage());
    }

    @Test
    void headerChecksumMismatch() {
        ByteBuffer f = RawFrames.frame(MessageType.PING, new byte[8]);
        f.put(FrameHeader.HEADER_CHECKSUM_OFFSET, (byte) (f.get(FrameHeader.HEADER_CHECKSUM_OFFSET) ^ 1));
        reject(f, Samples.SESSION, "header.headerChecksum");
    }

    @Test
    void bodyChecksumMismatch() {
        ByteBuffer f = RawFrames.frame(MessageType.PING, new byte[8]);
        f.put(FrameHeader.BYTES + 3, (byte) 1);
        ProtocolException e = reject(f, Samples.SESSION, "header.bodyChecksum");
        assertTrue(e.getMessage().contains("PING"), e.getMessage());
    }

    @Test
    void wrongVersion() {
        ProtocolException e = reject(RawFrames.frame(MAGIC, 1, MessageType.PING.code(), 0, 0, 8, new byte[8]),
                Samples.SESSION, "header.version");
        assertTrue(e.getMessage().contains("frame version 1 but this connection uses " + ProtocolVersion.MAX), e.getMessage());
    }

    @Test
    void unknownTypeZero() {
        ProtocolException e = reject(RawFrames.frame(MAGIC, ProtocolVersion.MAX, 0, 0, 0, 0, new byte[0]), Samples.SESSION,
                "header.type");
        assertTrue(e.getMessage().contains("unknown message type 0; known types are 1..29"), e.getMessage());
    }

    @Test
    void unknownTypeAboveTheLast() {
        reject(RawFrames.frame(MAGIC, ProtocolVersion.MAX, 0xFFFF, 0, 0, 0, new byte[0]), Samples.SESSION, "header.type");
    }

    @Test
    void sessionTypeDuringHandshake() {
        ProtocolException e = reject(RawFrames.frame(MessageType.DATA, new byte[0], 1), WireSettings.handshake(),
                "header.type");
        assertTrue(e.getMessage().contains("DATA is not allowed in the HANDSHAKE phase"), e.getMessage());
    }

    @Test
    void handshakeTypeDuringSession() {
        reject(RawFrames.frame(MessageType.HELLO, new byte[0], ProtocolVersion.MAX), Samples.SESSION, "header.type");
    }

    @Test
    void unknownFrameFlags() {
        ProtocolException e = reject(RawFrames.frame(MAGIC, ProtocolVersion.MAX, MessageType.PING.code(), 4, 0, 8, new byte[8]),
                Samples.SESSION, "header.flags");
        assertTrue(e.getMessage().contains("unknown bits 0x4"), e.getMessage());
    }

    @Test
    void reservedNotZero() {
        reject(RawFrames.frame(MAGIC, ProtocolVersion.MAX, MessageType.PING.code(), 0, 1, 8, new byte[8]), Samples.SESSION,
                "header.reserved");
    }

    @Test
    void controlMessageLongerThanItsLimit() {
        ProtocolException e = reject(RawFrames.frame(MessageType.PING, new byte[9]), Samples.SESSION,
                "header.bodyLength");
        assertTrue(e.getMessage().contains("PING body of 9 bytes exceeds the limit of 8 bytes"), e.getMessage());
    }

    @Test
    void helloLongerThanItsLimitDuringHandshake() {
        reject(RawFrames.frame(MessageType.HELLO, new byte[Hello.BODY_BYTES_MAX + 1]), WireSettings.handshake(),
                "header.bodyLength");
    }

    @Test
    void dataOverTheAbsoluteLimitIsRefusedBeforeAllocating() {
        long length = DataWrite.FIELDS_BYTES + Limits.BLOCK_BYTES_MAX + 1L;
        ByteBuffer header = RawFrames.frame(MAGIC, ProtocolVersion.MAX, MessageType.DATA.code(), 0, 0, length, new byte[0]);
        FrameDecoder decoder = new FrameDecoder(Samples.SESSION);
        ProtocolException e = assertThrows(ProtocolException.class, () -> decoder.decode(header));
        assertEquals("header.bodyLength", e.field());
        assertTrue(e.getMessage().contains("exceeds the limit of " + (length - 1)), e.getMessage());
        assertEquals(0, decoder.bodyBytesPeak(), "nothing was allocated for the body");
    }

    @Test
    void lengthOfFourGibibytesIsRefusedBeforeAllocating() {
        ByteBuffer header = RawFrames.frame(MAGIC, ProtocolVersion.MAX, MessageType.DATA.code(), 0, 0, 0xFFFF_FFFFL, new byte[0]);
        FrameDecoder decoder = new FrameDecoder(Samples.SESSION);
        assertEquals("header.bodyLength", assertThrows(ProtocolException.class, () -> decoder.decode(header)).field());
        assertEquals(0, decoder.bodyBytesPeak());
    }

    @Test
    void dataOverTheNegotiatedLimit() {
        WireSettings small = Samples.SESSION.withBlockBytesMax(4096);
        ProtocolException e = reject(RawFrames.frame(MessageType.DATA, new byte[DataWrite.FIELDS_BYTES + 4097]),
                small, "header.bodyLength");
        assertTrue(e.getMessage().contains("limit of " + (DataWrite.FIELDS_BYTES + 4096)), e.getMessage());
    }

    @Test
    void decoderStaysFailedAfterAnError() {
        FrameDecoder decoder = new FrameDecoder(Samples.SESSION);
        assertThrows(ProtocolException.class, () -> decoder.decode(ByteBuffer.wrap(new byte[24])));
        ByteBuffer good = Samples.wire(new Ping(1), Samples.SESSION);
        ProtocolException e = assertThrows(ProtocolException.class, () -> decoder.decode(good));
        assertEquals("stream", e.field());
        assertTrue(e.getMessage().contains("header.magic"), "the first error is repeated: " + e.getMessage());
    }

    @Test
    void badBodyAlsoFailsTheMessageDecoderForGood() {
        MessageDecoder decoder = new MessageDecoder(Samples.SESSION);
        assertThrows(ProtocolException.class,
                () -> decoder.decode(RawFrames.frame(MessageType.NEG_ACK, new RawFrames.Body().u64(1).u32(0).done())));
        assertTrue(decoder.isFailed());
        assertThrows(ProtocolException.class, () -> decoder.decode(Samples.wire(new Ping(1), Samples.SESSION)));
    }
}
