package io.repl.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MessageRoundTripTest {

    private static Message roundTrip(Message m, WireSettings settings) {
        ByteBuffer wire = Samples.wire(m, settings);
        MessageDecoder decoder = new MessageDecoder(settings);
        Message decoded = decoder.decode(wire);
        assertEquals(0, wire.remaining(), "the whole frame is consumed");
        assertNull(decoder.decode(wire), "nothing more");
        return decoded;
    }

    @Test
    void everyMessageTypeHasASampleThatRoundTrips() {
        Set<MessageType> seen = EnumSet.noneOf(MessageType.class);
        List<Message> all = new ArrayList<>(Samples.handshakeMessages());
        all.addAll(Samples.sessionMessages());
        for (Message m : all) {
            assertEquals(m, roundTrip(m, Samples.settingsFor(m)), m.toString());
            seen.add(m.type());
        }
        assertEquals(EnumSet.allOf(MessageType.class), seen, "a sample for every type");
    }

    @Test
    void sessionMessagesRoundTripWithoutLz4() {
        for (Message m : Samples.sessionMessages()) {
            assertEquals(m, roundTrip(m, Samples.SESSION_NO_LZ4), m.toString());
        }
    }

    @Test
    void disconnectIsAllowedInBothPhases() {
        Message m = new Disconnect(DisconnectReason.OPERATOR, "bye");
        assertEquals(m, roundTrip(m, WireSettings.handshake()));
        assertEquals(m, roundTrip(m, Samples.SESSION));
    }

    @Test
    void compressibleDataIsSentCompressedAndIncompressibleRaw() {
        FrameEncoder encoder = new FrameEncoder(Samples.SESSION);
        OutboundFrame text = encoder.encode(DataWrite.of(1, 0, Samples.compressible(1 << 20), 0));
        assertTrue(text.bytes() < (1 << 20) / 2, "text-like 1 MiB shrinks below half: " + text.bytes());
        OutboundFrame noise = encoder.encode(DataWrite.of(1, 0, Samples.incompressible(1 << 20, 9), 0));
        assertEquals(FrameHeader.BYTES + DataWrite.FIELDS_BYTES + (1 << 20), noise.bytes());
    }

    @Test
    void rawBlockIsPassedByReferenceNotCopied() {
        ByteBuffer data = ByteBuffer.allocateDirect(4096);
        OutboundFrame frame = new FrameEncoder(Samples.SESSION_NO_LZ4).encode(DataWrite.of(1, 0, data, 0));
        assertTrue(frame.block().isDirect(), "the block is the caller's buffer");
        assertEquals(4096, frame.block().remaining());
        assertEquals(FrameHeader.BYTES + DataWrite.FIELDS_BYTES, frame.head().remaining());
    }

    @Test
    void largestDataBlockRoundTrips() {
        Message m = DataWrite.of(9, 0, Samples.compressible(Limits.BLOCK_BYTES_MAX), 0);
        assertEquals(m, roundTrip(m, Samples.SESSION));
        assertEquals(m, roundTrip(m, Samples.SESSION_NO_LZ4));
    }

    @Test
    void bitmapRunsAreReportedInOrder() {
        BitmapChunk raw = BitmapChunk.raw(128, 12, new byte[] {(byte) 0xF0, 0x0A}, true);
        List<String> runs = new ArrayList<>();
        raw.forEachRun((first, count, set) -> runs.add(first + "+" + count + (set ? "S" : "C")));
        // 0xF0: bits 0-3 clear, 4-7 set; 0x0A: bit 8 clear, 9 set, 10 clear, 11 set.
        assertEquals(List.of("128+4C", "132+4S", "136+1C", "137+1S", "138+1C", "139+1S"), runs);
        assertEquals(6, raw.setBits());

        BitmapChunk rle = BitmapChunk.rle(0, new long[] {0, 5, 1_000_000, 3}, false);
        runs.clear();
        rle.forEachRun((first, count, set) -> runs.add(first + "+" + count + (set ? "S" : "C")));
        assertEquals(List.of("0+5S", "5+1000000C", "1000005+3S"), runs);
        assertEquals(1_000_008, rle.bitCount());
        assertEquals(8, rle.setBits());
    }
}
