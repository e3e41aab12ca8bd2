package io.repl.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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
        MessageDecoder decoder = new MessageDecoder(settings);
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
            int[] sizes = new int[17];
            for (int i = 0; i < sizes.length; i++) {
                // Mostly small pieces, sometimes large ones, so splits land in every field.
                sizes[i] = random.nextInt(4) == 0 ? 1 + random.nextInt(100_000) : 1 + random.nextInt(40);
            }
            assertEquals(messages, feed(bytes, sizes, Samples.SESSION), "round " + round);
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

    @Test
    void emptyInputNeedsMore() {
        assertNull(new FrameDecoder().decode(ByteBuffer.allocate(0)));
    }
}
