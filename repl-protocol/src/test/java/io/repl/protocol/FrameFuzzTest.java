package io.repl.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Mutates valid frames at random and feeds them to the decoder. Whatever the bytes, the
 * decoder may only return valid messages or throw {@link ProtocolException}: never another
 * exception, never a body buffer above the limit, never a loop that does not consume input.
 *
 * <p>Half of the mutated frames get their checksums recomputed, so the mutations reach the
 * body rules instead of all dying at the CRC. The seed is printed; a failure names the seed
 * and iteration so it replays exactly.
 */
class FrameFuzzTest {
    private static final long SEED = Long.getLong("fuzz.seed", 20240601L);
    private static final int ITERATIONS = Integer.getInteger("fuzz.iterations", 500_000);
    /** The session block limit for the fuzz run; large bodies only cost time, not coverage. */
    private static final int FUZZ_BLOCK_BYTES = 64 * 1024;
    private static final int[] INTERESTING_INTS = {0, 1, -1, 0x7FFF_FFFF, 0x8000_0000, 511, 512, 513, 4096,
        Limits.BLOCK_BYTES_MAX, Limits.BLOCK_BYTES_MAX + 1, FUZZ_BLOCK_BYTES, 0xFFFF, 0x10000, 24, 32, 63, 64};

    private record Corpus(WireSettings settings, List<byte[]> frames) {
    }

    @Test
    void mutatedFramesOnlyYieldValidMessagesOrProtocolExceptions() {
        WireSettings session = Samples.SESSION.withBlockBytesMax(FUZZ_BLOCK_BYTES);
        Corpus[] corpora = {
            corpus(session, Samples.sessionMessages()),
            corpus(WireSettings.handshake(), Samples.handshakeMessages())
        };
        SplittableRandom random = new SplittableRandom(SEED);
        Map<String, Integer> rejectedByField = new TreeMap<>();
        long accepted = 0;
        long rejected = 0;
        long bytesFed = 0;
        long started = System.nanoTime();
        for (int i = 0; i < ITERATIONS; i++) {
            Corpus corpus = corpora[random.nextInt(8) == 0 ? 1 : 0];
            byte[] frame = mutate(corpus, random);
            bytesFed += frame.length;
            try {
                accepted += feed(frame, corpus.settings, random);
            } catch (ProtocolException e) {
                rejected++;
                rejectedByField.merge(e.field(), 1, Integer::sum);
            } catch (Throwable t) {
                fail("seed " + SEED + " iteration " + i + ": " + t + " on frame " + hex(frame), t);
            }
            int iteration = i;
            assertEquals(outcome(frame, corpus.settings, false), outcome(frame, corpus.settings, true),
                    () -> "blocks received apart must decode alike: seed " + SEED + " iteration " + iteration
                            + " on frame " + hex(frame));
        }
        long millis = (System.nanoTime() - started) / 1_000_000;
        System.out.printf("fuzz: seed %d, %d mutated frames (%d bytes) in %d ms: %d messages accepted, %d rejected"
                + " by %d distinct fields%n", SEED, ITERATIONS, bytesFed, millis, accepted, rejected,
                rejectedByField.size());
        System.out.println("fuzz: rejections by field " + rejectedByField);
        assertTrue(rejected > ITERATIONS / 4, "most mutations are caught");
        assertTrue(rejectedByField.size() > 40, "mutations reach many distinct rules: " + rejectedByField.keySet());
    }

    @Test
    void randomBytesNeverEscapeAsAnythingButProtocolException() {
        SplittableRandom random = new SplittableRandom(SEED + 1);
        WireSettings[] settings = {WireSettings.handshake(), Samples.SESSION.withBlockBytesMax(FUZZ_BLOCK_BYTES)};
        for (int i = 0; i < 20_000; i++) {
            byte[] garbage = new byte[1 + random.nextInt(200)];
            random.nextBytes(garbage);
            if (random.nextBoolean()) {
                // Start with the real magic so the garbage reaches the later header checks.
                if (garbage.length >= Integer.BYTES) {
                    ByteBuffer.wrap(garbage).putInt(0, FrameHeader.MAGIC);
                }
                RawFrames.fixChecksums(garbage);
            }
            try {
                feed(garbage, settings[i & 1], random);
            } catch (ProtocolException expected) {
                // The only allowed failure.
            } catch (Throwable t) {
                fail("seed " + (SEED + 1) + " iteration " + i + ": " + t + " on " + hex(garbage), t);
            }
        }
    }

    /** Decodes one mutated frame in random chunks; returns how many messages came out. */
    private static int feed(byte[] frame, WireSettings settings, SplittableRandom random) {
        MessageDecoder decoder = new MessageDecoder(settings);
        int messages = 0;
        int at = 0;
        while (at < frame.length) {
            int n = Math.min(frame.length - at, 1 + random.nextInt(random.nextBoolean() ? 8 : 512));
            ByteBuffer chunk = ByteBuffer.wrap(frame, at, n);
            // Each returned message consumes at least a header, so this bounds the loop.
            for (int guard = 0; guard <= n / FrameHeader.BYTES + 1; guard++) {
                Message m = decoder.decode(chunk);
                if (m == null) {
                    break;
                }
                messages++;
                checkValid(m, settings);
            }
            assertEquals(0, chunk.remaining(), "the decoder consumed the chunk or returned a message per frame");
            at += n;
        }
        assertTrue(decoder.bodyBytesPeak() <= maxBody(settings), "allocation within the limit");
        return messages;
    }

    /**
     * What decoding {@code frame} from one buffer gives: the messages, then the field of the
     * error that stopped it, if any. {@code blocksApart}: blocks go to buffers of their own.
     */
    private static List<Object> outcome(byte[] frame, WireSettings settings, boolean blocksApart) {
        MessageDecoder decoder = new MessageDecoder(settings);
        if (blocksApart) {
            decoder.blockBuffers(ByteBuffer::allocate);
        }
        List<Object> out = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(frame);
        try {
            Message m;
            while ((m = decoder.decode(in)) != null) {
                out.add(m);
            }
        } catch (ProtocolException e) {
            out.add(e.field());
        }
        return out;
    }

    /** A decoded message must re-encode to a frame that decodes to the same message. */
    private static void checkValid(Message m, WireSettings settings) {
        ByteBuffer again = new FrameEncoder(settings).encode(m).toByteBuffer();
        assertEquals(m, new MessageDecoder(settings).decode(again));
    }

    private static long maxBody(WireSettings settings) {
        long max = 0;
        for (MessageType t : MessageType.values()) {
            if (t.allowedIn(settings.phase())) {
                max = Math.max(max, settings.bodyBytesMax(t));
            }
        }
        return max;
    }

    private static Corpus corpus(WireSettings settings, List<Message> messages) {
        List<byte[]> frames = new ArrayList<>();
        for (Message m : messages) {
            ByteBuffer b = Samples.wire(m, settings);
            if (b.remaining() <= FrameHeader.BYTES + FUZZ_BLOCK_BYTES) {
                byte[] bytes = new byte[b.remaining()];
                b.get(bytes);
                frames.add(bytes);
            }
        }
        return new Corpus(settings, frames);
    }

    private static byte[] mutate(Corpus corpus, SplittableRandom random) {
        byte[] f = corpus.frames.get(random.nextInt(corpus.frames.size())).clone();
        int mutations = 1 + random.nextInt(3);
        for (int k = 0; k < mutations && f.length > 0; k++) {
            f = mutateOnce(f, corpus, random);
        }
        if (random.nextBoolean()) {
            RawFrames.fixChecksums(f);
        }
        return f;
    }

    private static byte[] mutateOnce(byte[] f, Corpus corpus, SplittableRandom random) {
        // Aim half of the mutations at the header and the first fields, where the rules are.
        int span = random.nextBoolean() ? Math.min(f.length, FrameHeader.BYTES + 40) : f.length;
        int at = random.nextInt(span);
        switch (random.nextInt(7)) {
            case 0:
                f[at] ^= (byte) (1 << random.nextInt(8));
                return f;
            case 1:
                f[at] = (byte) random.nextInt(256);
                return f;
            case 2:
                if (f.length >= Integer.BYTES) {
                    ByteBuffer.wrap(f).putInt(Math.min(at, f.length - Integer.BYTES),
                            INTERESTING_INTS[random.nextInt(INTERESTING_INTS.length)]);
                }
                return f;
            case 3:
                return Arrays.copyOf(f, random.nextInt(f.length + 1));
            case 4:
                byte[] longer = Arrays.copyOf(f, f.length + 1 + random.nextInt(64));
                for (int i = f.length; i < longer.length; i++) {
                    longer[i] = (byte) random.nextInt(256);
                }
                return longer;
            case 5:
                // Splice: the head of this frame with the tail of another.
                byte[] other = corpus.frames.get(random.nextInt(corpus.frames.size()));
                int cut = random.nextInt(Math.min(f.length, other.length) + 1);
                byte[] spliced = Arrays.copyOf(f, other.length);
                System.arraycopy(other, cut, spliced, cut, other.length - cut);
                return spliced;
            default:
                ByteBuffer.wrap(f).put(at, (byte) (random.nextBoolean() ? 0 : 0xFF));
                return f;
        }
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b, 0, Math.min(b.length, 200));
    }
}
