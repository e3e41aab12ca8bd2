package io.repl.protocol;

import java.nio.ByteBuffer;

/**
 * RS_DATA: the SyncSource's contents of a range, answering RS_REQUEST (or CSUM_REQUEST, via
 * {@link ChecksumReply}). The block is held by reference, as in {@link DataWrite}. A range that
 * reads as zeroes may travel without its bytes ({@link #zeroes(long, int)}) when both nodes
 * offered {@link Features#ZERO_BLOCKS}.
 *
 * @param offset byte offset, a multiple of 512
 * @param length the range's bytes, a multiple of 512 in 512..32 MiB
 * @param zeroes true when the range reads as zeroes and no bytes travel
 * @param data the range's bytes ({@code length} of them), or empty when {@code zeroes}
 */
public record ResyncData(long offset, int length, boolean zeroes, ByteBuffer data) implements Message {
    /** offset u64, length u32, encoding u8, reserved u8[3]. */
    public static final int FIELDS_BYTES = 8 + 4 + 1 + 3;
    static final int RESERVED_BYTES = 3;

    public ResyncData {
        Check.present("RS_DATA.data", data);
        Check.blockRange("RS_DATA", offset, length, Limits.BLOCK_BYTES_MAX);
        int expected = zeroes ? 0 : length;
        if (data.remaining() != expected) {
            throw new ProtocolException("RS_DATA.data", data.remaining() + " bytes but " + expected
                    + (zeroes ? " expected (a zero block carries no bytes)" : " expected (the length field)"));
        }
        data = data.slice();
    }

    /** The bytes of a range. */
    public ResyncData(long offset, ByteBuffer data) {
        this(offset, Check.present("RS_DATA.data", data).remaining(), false, data);
    }

    /** A range that reads as zeroes; no bytes travel. */
    public static ResyncData zeroes(long offset, int length) {
        return new ResyncData(offset, length, true, ByteBuffer.allocate(0));
    }

    /** A view of the data (empty for a zero block); reading it does not disturb the message. */
    @Override
    public ByteBuffer data() {
        return data.duplicate();
    }

    @Override
    public MessageType type() {
        return MessageType.RS_DATA;
    }

    @Override
    public void encode(BodyWriter body) {
        int encoding = zeroes ? body.zeroBlock() : body.block(data);
        body.u64(offset);
        body.u32(length);
        body.u8(encoding);
        body.zeros(RESERVED_BYTES);
    }

    static ResyncData decode(BodyReader r) {
        long offset = r.u64("offset");
        long length = r.u32("length");
        int encoding = r.u8("encoding");
        r.reserved("reserved", RESERVED_BYTES);
        if (r.zeroBlock(encoding, length)) {
            return zeroes(offset, (int) length);
        }
        return new ResyncData(offset, r.block("data", encoding, length));
    }

    @Override
    public String toString() {
        return "ResyncData[offset=" + offset + ", length=" + length + (zeroes ? ", zeroes" : "") + "]";
    }
}
