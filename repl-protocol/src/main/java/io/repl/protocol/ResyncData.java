package io.repl.protocol;

import java.nio.ByteBuffer;

/**
 * RS_DATA: the SyncSource's contents of a range, answering RS_REQUEST (or CSUM_REQUEST, via
 * {@link ChecksumReply}). The block is held by reference, as in {@link DataWrite}.
 *
 * @param offset byte offset, a multiple of 512
 * @param data the range's bytes, a multiple of 512 in 512..32 MiB
 */
public record ResyncData(long offset, ByteBuffer data) implements Message {
    /** offset u64, length u32, encoding u8, reserved u8[3]. */
    public static final int FIELDS_BYTES = 8 + 4 + 1 + 3;
    static final int RESERVED_BYTES = 3;

    public ResyncData {
        Check.present("RS_DATA.data", data);
        Check.blockRange("RS_DATA", offset, data.remaining(), Limits.BLOCK_BYTES_MAX);
        data = data.slice();
    }

    /** The number of bytes in the range. */
    public int length() {
        return data.remaining();
    }

    /** A view of the data; reading it does not disturb the message. */
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
        int encoding = body.block(data);
        body.u64(offset);
        body.u32(data.remaining());
        body.u8(encoding);
        body.zeros(RESERVED_BYTES);
    }

    static ResyncData decode(BodyReader r) {
        long offset = r.u64("offset");
        long length = r.u32("length");
        int encoding = r.u8("encoding");
        r.reserved("reserved", RESERVED_BYTES);
        return new ResyncData(offset, r.block("data", encoding, length));
    }

    @Override
    public String toString() {
        return "ResyncData[offset=" + offset + ", length=" + data.remaining() + "]";
    }
}
