package io.repl.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads the fields of one message body in order, big-endian, checking before every read that
 * the bytes are there. A short body becomes a {@link ProtocolException} naming the field,
 * never a {@link java.nio.BufferUnderflowException}. Only {@link MessageCodec} creates these.
 */
public final class BodyReader {
    private final MessageType type;
    private final ByteBuffer body;
    /** The frame's block when it was received apart from the body (it follows the body); else null. */
    private ByteBuffer block;
    private final WireSettings settings;
    private final FrameDecoder.BlockBuffers decompressInto;

    BodyReader(MessageType type, ByteBuffer body, WireSettings settings) {
        this(type, body, null, settings);
    }

    BodyReader(MessageType type, ByteBuffer body, ByteBuffer block, WireSettings settings) {
        this(type, body, block, settings, null);
    }

    /**
     * {@code blockBuffers}: where an LZ4 block received apart is decompressed (null: the heap),
     * so that it, too, lands in memory its disk write can use as it is.
     */
    BodyReader(MessageType type, ByteBuffer body, ByteBuffer block, WireSettings settings,
               FrameDecoder.BlockBuffers blockBuffers) {
        this.type = type;
        this.body = body.slice().order(ByteOrder.BIG_ENDIAN);
        this.block = block == null ? null : block.slice();
        this.settings = settings;
        // Only DATA and RS_DATA receive their block apart; the blocks of other messages
        // (READ_REPLY, CSUM_REPLY) stay on the heap, whoever supplied the buffers.
        this.decompressInto = block == null ? null : blockBuffers;
    }

    /** The full field name used in errors, e.g. {@code DATA.offset}. */
    String field(String name) {
        return type + "." + name;
    }

    int u8(String name) {
        need(name, Byte.BYTES);
        return Byte.toUnsignedInt(body.get());
    }

    int u16(String name) {
        need(name, Short.BYTES);
        return Short.toUnsignedInt(body.getShort());
    }

    long u32(String name) {
        need(name, Integer.BYTES);
        return Integer.toUnsignedLong(body.getInt());
    }

    /** A 64-bit field as Java's signed long; callers range-check where the sign matters. */
    long u64(String name) {
        need(name, Long.BYTES);
        return body.getLong();
    }

    /** Reads a reserved field of {@code bytes} bytes and requires it to be zero. */
    void reserved(String name, int bytes) {
        need(name, bytes);
        for (int i = 0; i < bytes; i++) {
            byte value = body.get();
            if (value != 0) {
                Check.reserved(field(name), value);
            }
        }
    }

    byte[] bytes(String name, int length) {
        need(name, length);
        byte[] out = new byte[length];
        body.get(out);
        return out;
    }

    /** A name: u8 length, then that many ASCII bytes, validated by {@link Check#name}. */
    String name(String name) {
        int length = u8(name + "Length");
        if (length < 1 || length > Limits.NAME_BYTES_MAX) {
            throw new ProtocolException(field(name + "Length"), length + " is outside 1.." + Limits.NAME_BYTES_MAX);
        }
        byte[] raw = bytes(name, length);
        return Check.name(field(name), new String(raw, StandardCharsets.ISO_8859_1));
    }

    /** A text: u16 length (at most {@code lengthMax}), then that many bytes of strict UTF-8. */
    String text(String name, int lengthMax) {
        int length = u16(name + "Length");
        if (length > lengthMax) {
            throw new ProtocolException(field(name + "Length"), length + " is outside 0.." + lengthMax);
        }
        byte[] raw = bytes(name, length);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw new ProtocolException(field(name), "is not valid UTF-8", e);
        }
    }

    /**
     * All bytes not yet read, as a view (no copy) when they are in one buffer; the reader is
     * then at the end.
     */
    ByteBuffer rest() {
        ByteBuffer out = body.slice();
        body.position(body.limit());
        if (block != null) {
            // The fields end where the block begins, so the body is normally spent here.
            out = out.hasRemaining()
                    ? ByteBuffer.allocate(out.remaining() + block.remaining()).put(out).put(block).flip()
                    : block;
            block = null;
        }
        return out;
    }

    /**
     * The block at the end of the body, which must expand to exactly {@code length} bytes.
     * A raw block is returned as a view of the frame body (or of the block received apart); an
     * LZ4 block is decompressed, into a supplied buffer when the block was received apart.
     */
    ByteBuffer block(String name, int encodingCode, long length) {
        BlockEncoding encoding = BlockEncoding.fromCode(field("encoding"), encodingCode);
        if (length < 1 || length > settings.blockBytesMax()) {
            throw new ProtocolException(field("length"), length + " is outside 1.." + settings.blockBytesMax());
        }
        ByteBuffer wire = rest();
        if (encoding == BlockEncoding.RAW) {
            if (wire.remaining() != length) {
                throw new ProtocolException(field(name), "raw block has " + wire.remaining()
                        + " bytes but length says " + length);
            }
            return wire;
        }
        if (encoding == BlockEncoding.ZEROES) {
            throw new ProtocolException(field("encoding"), "2 (zeroes) is allowed only in RS_DATA");
        }
        if (!settings.lz4()) {
            throw new ProtocolException(field("encoding"), "LZ4 block received but LZ4 was not agreed in the handshake");
        }
        return Lz4Block.decompress(field(name), wire, length, settings.blockBytesMax(), decompressInto);
    }

    /**
     * Whether {@code encodingCode} says the range reads as zeroes (no block follows). Checks
     * that zero blocks were agreed, that the length is within the block limit and that nothing
     * follows the fields.
     */
    boolean zeroBlock(int encodingCode, long length) {
        if (encodingCode != BlockEncoding.ZEROES.code()) {
            return false;
        }
        if (!settings.zeroBlocks()) {
            throw new ProtocolException(field("encoding"),
                    "2 (zeroes) received but zero blocks were not agreed in the handshake");
        }
        if (length < 1 || length > settings.blockBytesMax()) {
            throw new ProtocolException(field("length"), length + " is outside 1.." + settings.blockBytesMax());
        }
        if (remaining() > 0) {
            throw new ProtocolException(field("data"), remaining() + " bytes present but a zero block carries none");
        }
        return true;
    }

    /** Requires that a block-less message has encoding 0 and nothing after its fields. */
    void noBlock(int encodingCode, String why) {
        if (encodingCode != BlockEncoding.RAW.code()) {
            throw new ProtocolException(field("encoding"), encodingCode + " but " + why
                    + " carries no block, so it must be 0");
        }
        if (remaining() > 0) {
            throw new ProtocolException(field("data"), remaining() + " bytes present but " + why
                    + " carries no block");
        }
    }

    /** Requires that every byte of the body was consumed. */
    void end() {
        if (remaining() > 0) {
            throw new ProtocolException(field("length"), remaining() + " unexpected bytes after the last field");
        }
    }

    /** Bytes not yet read, in the body and the block. */
    private int remaining() {
        return body.remaining() + (block == null ? 0 : block.remaining());
    }

    private void need(String name, int bytes) {
        if (body.remaining() < bytes) {
            throw new ProtocolException(field(name), "body ends early: " + bytes + " bytes needed, "
                    + body.remaining() + " left");
        }
    }
}
