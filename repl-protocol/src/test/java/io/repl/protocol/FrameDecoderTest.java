package io.repl.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Streaming behaviour: the same frames however the bytes are split. */
class FrameDecoderTest {

    private static byte[] stream(List<Message> messages, WireSettings settings) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Message m : messages) {
            ByteBuffer b = Samples.wire(m, settings);
            out.write(b.array(), b.arrayOffset(), b.remaining());
        }
        return out.toByteArray();
    }

    private static List<Message> feed(byte[] bytes, int[] chunkSizes, WireSettings settings) {
        return feed(new MessageDecoder(settings), bytes, chunkSizes);
    }

    private static List<Message> feed(MessageDecoder decoder, byte[] bytes, int[] chunkSizes) {
        List<Message> out = new ArrayList<>();
        int at = 0;
        int i = 0;
        while (at < bytes.length) {
            int n = Math.min(chunkSizes[i++ % chunkSizes.length], bytes.length - at);
            ByteBuffer chunk = ByteBuffer.wrap(bytes, at, n);
            Message m;
            while ((m = decoder.decode(chunk)) != null) {
                out.add(m);
            }
            assertEquals(0, chunk.remaining(), "a null return means the chunk was consumed");
            at += n;
        }
        return out;
    }

    /** Mostly small pieces, sometimes large ones, so splits land in every field. */
    private static int[] chunkSizes(Random random, int count) {
        int[] sizes = new int[count];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = random.nextInt(4) == 0 ? 1 + random.nextInt(100_000) : 1 + random.nextInt(40);
        }
        return sizes;
    }

    @Test
    void oneByteAtATime() {
        List<Message> messages = Samples.sessionMessages().subList(0, 12);
        assertEquals(messages, feed(stream(messages, Samples.SESSION), new int[] {1}, Samples.SESSION));
    }

    @Test
    void handshakeOneByteAtATime() {
        List<Message> messages = Samples.handshakeMessages();
        WireSettings hs = WireSettings.handshake();
        assertEquals(messages, feed(stream(messages, hs), new int[] {1}, hs));
    }

    @Test
    void randomChunkSplits() {
        List<Message> messages = Samples.sessionMessages();
        byte[] bytes = stream(messages, Samples.SESSION);
        Random random = new Random(42);
        for (int round = 0; round < 50; round++) {
            assertEquals(messages, feed(bytes, chunkSizes(random, 17), Samples.SESSION), "round " + round);
        }
    }

    @Test
    void allFramesInOneBufferComeOutOneAtATime() {
        List<Message> messages = Samples.sessionMessages();
        ByteBuffer all = ByteBuffer.wrap(stream(messages, Samples.SESSION));
        MessageDecoder decoder = new MessageDecoder(Samples.SESSION);
        for (Message expected : messages) {
            assertEquals(expected, decoder.decode(all));
        }
        assertNull(decoder.decode(all));
    }

    @Test
    void settingsCanSwitchBetweenFramesInOneBuffer() {
        // The handshake's last frame and the first session frame often arrive together.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer a = Samples.wire(new AuthResponse(Samples.nonce(7)), WireSettings.handshake());
        out.write(a.array(), 0, a.remaining());
        ByteBuffer b = Samples.wire(new Ping(5), Samples.SESSION);
        out.write(b.array(), 0, b.remaining());
        ByteBuffer both = ByteBuffer.wrap(out.toByteArray());
        MessageDecoder decoder = new MessageDecoder();
        assertTrue(decoder.decode(both) instanceof AuthResponse);
        decoder.update(Samples.SESSION);
        assertEquals(new Ping(5), decoder.decode(both));
    }

    /** Hands out direct buffers and remembers them, as an agent's pool would. */
    private static final class Supplied implements FrameDecoder.BlockBuffers {
        final List<ByteBuffer> buffers = new ArrayList<>();

        @Override
        public ByteBuffer acquire(int bytes) {
            ByteBuffer b = ByteBuffer.allocateDirect(bytes);
            buffers.add(b);
            return b;
        }
    }

    @Test
    void blocksReceivedApartGiveTheSameMessagesHoweverTheBytesAreSplit() {
        List<Message> messages = Samples.sessionMessages();
        byte[] bytes = stream(messages, Samples.SESSION);
        Random random = new Random(7);
        for (int round = 0; round < 30; round++) {
            int[] sizes = chunkSizes(random, 13);
            MessageDecoder decoder = new MessageDecoder(Samples.SESSION);
            Supplied supplied = new Supplied();
            decoder.blockBuffers(supplied);
            List<Message> decoded = feed(decoder, bytes, round == 0 ? new int[] {1} : sizes);
            assertEquals(messages, decoded, "round " + round);
            // Every DATA and RS_DATA with a block asked for one buffer, and one more to
            // decompress into when its block travelled compressed.
            int raw = 0;
            int compressed = 0;
            for (Message m : messages) {
                ByteBuffer data = m instanceof DataWrite d ? d.data()
                        : m instanceof ResyncData r && !r.zeroes() ? r.data() : null;
                if (data != null && data.hasRemaining()) {
                    if (Lz4Block.compressIfSmaller(data.duplicate()) != null) {
                        compressed++;
                    } else {
                        raw++;
                    }
                }
            }
            assertTrue(raw > 0 && compressed > 0, "the sample has both kinds of block, or it tests less");
            assertEquals(raw + 2 * compressed, supplied.buffers.size(), "round " + round);
        }
    }

    @Test
    void aRawBlockIsAViewOfTheSuppliedBufferAndAnLz4BlockIsDecompressedIntoAnother() {
        ByteBuffer raw = ByteBuffer.allocate(4096);
        new Random(1).nextBytes(raw.array());
        DataWrite rawWrite = DataWrite.of(9, 8192, raw, 0);
        ByteBuffer text = ByteBuffer.wrap("all work and no play ".repeat(400).substring(0, 8192).getBytes());
        DataWrite lz4Write = DataWrite.of(10, 0, text, 0);
        MessageDecoder decoder = new MessageDecoder(Samples.SESSION);
        Supplied supplied = new Supplied();
        decoder.blockBuffers(supplied);

        DataWrite got = (DataWrite) decoder.decode(Samples.wire(rawWrite, Samples.SESSION));
        assertEquals(rawWrite, got);
        assertEquals(1, supplied.buffers.size());
        assertSameMemory(supplied.buffers.get(0), got.data());

        ByteBuffer lz4Wire = Samples.wire(lz4Write, Samples.SESSION);
        assertTrue(lz4Wire.remaining() < 8192, "the sample must compress, or it tests nothing");
        DataWrite unpacked = (DataWrite) decoder.decode(lz4Wire);
        assertEquals(lz4Write, unpacked);
        assertEquals(3, supplied.buffers.size(), "one for the wire bytes, one to decompress into");
        assertTrue(supplied.buffers.get(1).capacity() < 8192, "the first holds the compressed block");
        assertSameMemory(supplied.buffers.get(2), unpacked.data());
    }

    /** The same memory: a change to {@code supplied} shows in {@code view}. */
    private static void assertSameMemory(ByteBuffer supplied, ByteBuffer view) {
        byte next = (byte) (view.get(0) + 1);
        supplied.put(0, next);
        assertEquals(next, view.get(0));
    }

    @Test
    void aReadReplysLz4BlockStaysOnTheHeapWhateverTheSupplier() {
        ByteBuffer text = ByteBuffer.wrap("the same line again and again\n".repeat(300).substring(0, 8192).getBytes());
        ReadReply reply = new ReadReply(7, text);
        MessageDecoder decoder = new MessageDecoder(Samples.SESSION);
        Supplied supplied = new Supplied();
        decoder.blockBuffers(supplied);
        ReadReply got = (ReadReply) decoder.decode(Samples.wire(reply, Samples.SESSION));
        assertEquals(reply, got);
        assertTrue(supplied.buffers.isEmpty(), "only DATA and RS_DATA blocks go to supplied buffers");
    }

    @Test
    void aBlockReceivedApartIsCoveredByTheBodyChecksum() {
        ByteBuffer wire = Samples.wire(DataWrite.of(1, 0, ByteBuffer.allocate(4096), 0), WireSettings.session(
                ProtocolVersion.MAX, 0));
        wire.put(wire.limit() - 1, (byte) 1);
        MessageDecoder decoder = new MessageDecoder(WireSettings.session(ProtocolVersion.MAX, 0));
        decoder.blockBuffers(new Supplied());
        ProtocolException e = assertThrows(ProtocolException.class, () -> decoder.decode(wire));
        assertEquals("header.bodyChecksum", e.field());
    }

    @Test
    void emptyInputNeedsMore() {
        assertNull(new FrameDecoder().decode(ByteBuffer.allocate(0)));
    }
}
