package io.repl.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;

/**
 * BITMAP: one chunk of the sender's out-of-sync bitmap (one bit per 4 KiB block), exchanged
 * before a resync. The receiver ORs every chunk into its own bitmap; the chunk with
 * {@link #LAST} ends the exchange.
 *
 * <p>Two encodings keep both dense and sparse bitmaps small:
 * <ul>
 *   <li>{@link Encoding#RAW}: {@code ceil(bitCount / 8)} bytes; bit {@code i} of the chunk is
 *       bit {@code i % 8} (least significant first) of byte {@code i / 8}. Unused bits of the
 *       last byte are zero. {@code startBit} is a multiple of 64 so receivers can OR whole
 *       words.</li>
 *   <li>{@link Encoding#RLE}: run lengths as unsigned LEB128 varints (1..5 bytes, minimal,
 *       at most 2^32-1), alternating clear and set runs and starting with a clear run. Only
 *       the first run may be 0; the runs add up to {@code bitCount} exactly.</li>
 * </ul>
 *
 * @param startBit the bitmap index of the chunk's first bit
 * @param bitCount bits described, 1..2^32-1
 * @param encoding RAW or RLE
 * @param flags {@link #LAST}
 * @param data the encoded bits, 1..64 KiB
 */
public record BitmapChunk(long startBit, long bitCount, Encoding encoding, int flags, ByteBuffer data)
        implements Message {
    /** This chunk ends the bitmap exchange. */
    public static final int LAST = 1;
    public static final int FLAGS_KNOWN = LAST;
    /** startBit u64, bitCount u32, encoding u8, flags u8, reserved u16. */
    static final int FIELDS_BYTES = 8 + 4 + 1 + 1 + 2;
    static final int RESERVED_BYTES = 2;
    public static final int BODY_BYTES_MAX = FIELDS_BYTES + Limits.BITMAP_CHUNK_DATA_BYTES_MAX;
    static final long BIT_COUNT_MAX = 0xFFFF_FFFFL;
    static final int RAW_START_ALIGNMENT_BITS = 64;
    static final int VARINT_BYTES_MAX = 5;
    static final int VARINT_PAYLOAD_BITS = 7;
    static final int VARINT_MORE = 0x80;
    static final int VARINT_LOW_BITS = 0x7F;

    /** How the bits are encoded. */
    public enum Encoding {
        RAW(0),
        RLE(1);

        private final int code;

        Encoding(int code) {
            this.code = code;
        }

        static Encoding fromCode(String field, int code) {
            for (Encoding e : values()) {
                if (e.code == code) {
                    return e;
                }
            }
            throw new ProtocolException(field, "unknown bitmap encoding " + code + "; known are 0 (raw) and 1 (rle)");
        }
    }

    /** Receives the runs of a chunk, in order. */
    @FunctionalInterface
    public interface RunConsumer {
        void run(long firstBit, long bitCount, boolean set);
    }

    public BitmapChunk {
        Check.range("BITMAP.startBit", startBit, 0, Limits.BITMAP_BITS_MAX);
        Check.range("BITMAP.bitCount", bitCount, 1, BIT_COUNT_MAX);
        if (startBit + bitCount > Limits.BITMAP_BITS_MAX) {
            throw new ProtocolException("BITMAP.bitCount", "startBit " + startBit + " + bitCount " + bitCount
                    + " ends past the largest bitmap (" + Limits.BITMAP_BITS_MAX + " bits)");
        }
        Check.present("BITMAP.encoding", encoding);
        Check.range("BITMAP.flags", flags, 0, 0xFF);
        Check.knownFlags("BITMAP.flags", flags, FLAGS_KNOWN);
        Check.present("BITMAP.data", data);
        Check.range("BITMAP.dataLength", data.remaining(), 1, Limits.BITMAP_CHUNK_DATA_BYTES_MAX);
        data = data.slice();
        if (encoding == Encoding.RAW) {
            checkRaw(startBit, bitCount, data);
        } else {
            walkRle(data, startBit, bitCount, null);
        }
    }

    /** A RAW chunk over {@code bits} (copied), least significant bit first. */
    public static BitmapChunk raw(long startBit, long bitCount, byte[] bits, boolean last) {
        return new BitmapChunk(startBit, bitCount, Encoding.RAW, last ? LAST : 0, ByteBuffer.wrap(bits.clone()));
    }

    /** An RLE chunk from alternating run lengths, clear first (the first may be 0). */
    public static BitmapChunk rle(long startBit, long[] runs, boolean last) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long total = 0;
        for (long run : runs) {
            Check.range("BITMAP.run", run, 0, BIT_COUNT_MAX);
            total += run;
            long v = run;
            while (v >= VARINT_MORE) {
                out.write((int) (v & VARINT_LOW_BITS) | VARINT_MORE);
                v >>>= VARINT_PAYLOAD_BITS;
            }
            out.write((int) v);
        }
        return new BitmapChunk(startBit, total, Encoding.RLE, last ? LAST : 0, ByteBuffer.wrap(out.toByteArray()));
    }

    public boolean isLast() {
        return (flags & LAST) != 0;
    }

    /** A view of the encoded data. */
    @Override
    public ByteBuffer data() {
        return data.duplicate();
    }

    /** Reports every run of equal bits, in order, merging neighbours of the same value. */
    public void forEachRun(RunConsumer consumer) {
        if (encoding == Encoding.RLE) {
            walkRle(data, startBit, bitCount, consumer);
            return;
        }
        long runStart = startBit;
        boolean runSet = bit(data, 0);
        for (long i = 1; i < bitCount; i++) {
            boolean set = bit(data, i);
            if (set != runSet) {
                consumer.run(runStart, startBit + i - runStart, runSet);
                runStart = startBit + i;
                runSet = set;
            }
        }
        consumer.run(runStart, startBit + bitCount - runStart, runSet);
    }

    /** The number of set bits in this chunk. */
    public long setBits() {
        long[] sum = {0};
        forEachRun((first, count, set) -> sum[0] += set ? count : 0);
        return sum[0];
    }

    private static boolean bit(ByteBuffer data, long i) {
        return (data.get((int) (i >>> 3)) >>> (int) (i & 7) & 1) != 0;
    }

    private static void checkRaw(long startBit, long bitCount, ByteBuffer data) {
        Check.aligned("BITMAP.startBit", startBit, RAW_START_ALIGNMENT_BITS);
        long bytes = (bitCount + Byte.SIZE - 1) / Byte.SIZE;
        if (data.remaining() != bytes) {
            throw new ProtocolException("BITMAP.data", data.remaining() + " bytes but a raw chunk of " + bitCount
                    + " bits needs " + bytes);
        }
        int spare = (int) (bytes * Byte.SIZE - bitCount);
        int last = Byte.toUnsignedInt(data.get(data.limit() - 1));
        if (spare > 0 && last >>> (Byte.SIZE - spare) != 0) {
            throw new ProtocolException("BITMAP.data", "bits past bitCount in the last byte are set; they must be 0");
        }
    }

    /** Validates the RLE data and, when {@code consumer} is not null, reports its runs. */
    private static void walkRle(ByteBuffer data, long startBit, long bitCount, RunConsumer consumer) {
        long position = 0;
        boolean set = false;
        boolean first = true;
        int i = data.position();
        while (i < data.limit()) {
            long run = 0;
            int shift = 0;
            int bytes = 0;
            int b;
            do {
                if (i >= data.limit()) {
                    throw new ProtocolException("BITMAP.data", "a run-length varint is cut off at the end");
                }
                if (bytes == VARINT_BYTES_MAX) {
                    throw new ProtocolException("BITMAP.data", "a run-length varint is longer than "
                            + VARINT_BYTES_MAX + " bytes");
                }
                b = Byte.toUnsignedInt(data.get(i++));
                run |= (long) (b & VARINT_LOW_BITS) << shift;
                shift += VARINT_PAYLOAD_BITS;
                bytes++;
            } while ((b & VARINT_MORE) != 0);
            if (bytes > 1 && b == 0) {
                throw new ProtocolException("BITMAP.data", "a run-length varint is not minimally encoded");
            }
            if (run > BIT_COUNT_MAX) {
                throw new ProtocolException("BITMAP.data", "run length " + run + " exceeds " + BIT_COUNT_MAX);
            }
            if (run == 0 && !first) {
                throw new ProtocolException("BITMAP.data", "only the first run may be 0");
            }
            if (run > bitCount - position) {
                throw new ProtocolException("BITMAP.data", "runs add up to more than bitCount " + bitCount);
            }
            if (consumer != null && run > 0) {
                consumer.run(startBit + position, run, set);
            }
            position += run;
            set = !set;
            first = false;
        }
        if (position != bitCount) {
            throw new ProtocolException("BITMAP.data", "runs add up to " + position + " but bitCount is " + bitCount);
        }
    }

    @Override
    public MessageType type() {
        return MessageType.BITMAP;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(startBit);
        body.u32(bitCount);
        body.u8(encoding.code);
        body.u8(flags);
        body.zeros(RESERVED_BYTES);
        body.tail(data);
    }

    static BitmapChunk decode(BodyReader r) {
        long startBit = r.u64("startBit");
        long bitCount = r.u32("bitCount");
        Encoding encoding = Encoding.fromCode(r.field("encoding"), r.u8("encoding"));
        int flags = r.u8("flags");
        r.reserved("reserved", RESERVED_BYTES);
        return new BitmapChunk(startBit, bitCount, encoding, flags, r.rest());
    }

    @Override
    public String toString() {
        return "BitmapChunk[startBit=" + startBit + ", bitCount=" + bitCount + ", " + encoding
                + ", " + data.remaining() + " bytes" + (isLast() ? ", last" : "") + "]";
    }
}
