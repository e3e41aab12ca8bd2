package io.repl.protocol;

import java.nio.ByteBuffer;

/**
 * READ_REPLY: the bytes of a range a READ_REQUEST asked for, read from the answering node's
 * disk. The block is held by reference, as in {@link DataWrite}.
 *
 * @param id the request's id
 * @param data the range's bytes, a multiple of 512 in 512..32 MiB
 */
public record ReadReply(long id, ByteBuffer data) implements Message {
    /** id u64, length u32, encoding u8, reserved u8[3]. */
    public static final int FIELDS_BYTES = 8 + 4 + 1 + 3;
    private static final int RESERVED_BYTES = 3;

    public ReadReply {
        Check.present("READ_REPLY.data", data);
        Check.blockRange("READ_REPLY", 0, data.remaining(), Limits.BLOCK_BYTES_MAX);
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
        return MessageType.READ_REPLY;
    }

    @Override
    public void encode(BodyWriter body) {
        int encoding = body.block(data);
        body.u64(id);
        body.u32(data.remaining());
        body.u8(encoding);
        body.zeros(RESERVED_BYTES);
    }

    static ReadReply decode(BodyReader r) {
        long id = r.u64("id");
        long length = r.u32("length");
        int encoding = r.u8("encoding");
        r.reserved("reserved", RESERVED_BYTES);
        return new ReadReply(id, r.block("data", encoding, length));
    }

    @Override
    public String toString() {
        return "ReadReply[id=" + id + ", length=" + data.remaining() + "]";
    }
}
