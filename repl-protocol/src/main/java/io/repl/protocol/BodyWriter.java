package io.repl.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Collects the fields of one message body (big-endian) and, for block carriers, a reference to
 * the block, which is not copied unless it is compressed. Only {@link FrameEncoder} creates
 * these.
 */
public final class BodyWriter {
    private static final int INITIAL_BYTES = 64;

    private final WireSettings settings;
    private ByteBuffer fields = ByteBuffer.allocate(INITIAL_BYTES).order(ByteOrder.BIG_ENDIAN);
    private ByteBuffer block = ByteBuffer.allocate(0);

    BodyWriter(WireSettings settings) {
        this.settings = settings;
    }

    void u8(int value) {
        room(Byte.BYTES).put((byte) value);
    }

    void u16(int value) {
        room(Short.BYTES).putShort((short) value);
    }

    void u32(long value) {
        room(Integer.BYTES).putInt((int) value);
    }

    void u64(long value) {
        room(Long.BYTES).putLong(value);
    }

    void zeros(int bytes) {
        ByteBuffer out = room(bytes);
        for (int i = 0; i < bytes; i++) {
            out.put((byte) 0);
        }
    }

    void bytes(byte[] value) {
        room(value.length).put(value);
    }

    /** A name already validated by {@link Check#name}: u8 length and ASCII bytes. */
    void name(String value) {
        byte[] raw = value.getBytes(StandardCharsets.US_ASCII);
        u8(raw.length);
        bytes(raw);
    }

    /** A text already validated for length: u16 length and UTF-8 bytes. */
    void text(byte[] utf8) {
        u16(utf8.length);
        bytes(utf8);
    }

    /** Appends a byte sequence by reference, such as raw bitmap data. */
    void tail(ByteBuffer data) {
        block = data.duplicate();
    }

    /**
     * Sets the block, compressed when LZ4 was agreed and compression makes it smaller, and
     * returns the encoding code to write in the fields.
     */
    int block(ByteBuffer data) {
        if (settings.lz4()) {
            ByteBuffer compressed = Lz4Block.compressIfSmaller(data);
            if (compressed != null) {
                block = compressed;
                return BlockEncoding.LZ4.code();
            }
        }
        block = data.duplicate();
        return BlockEncoding.RAW.code();
    }

    /** No block: the range reads as zeroes. Returns the encoding code; needs zero blocks agreed. */
    int zeroBlock() {
        if (!settings.zeroBlocks()) {
            throw new IllegalStateException("a zero block without the zero-blocks feature agreed");
        }
        block = ByteBuffer.allocate(0);
        return BlockEncoding.ZEROES.code();
    }

    ByteBuffer fields() {
        return fields.duplicate().flip();
    }

    ByteBuffer blockBytes() {
        return block.duplicate();
    }

    private ByteBuffer room(int bytes) {
        if (fields.remaining() < bytes) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(fields.capacity() * 2, fields.position() + bytes))
                    .order(ByteOrder.BIG_ENDIAN);
            bigger.put(fields.flip());
            fields = bigger;
        }
        return fields;
    }
}
