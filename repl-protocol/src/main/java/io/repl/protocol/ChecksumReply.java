package io.repl.protocol;

import java.nio.ByteBuffer;

/**
 * CSUM_REPLY: the SyncSource's answer to CSUM_REQUEST. Either the digests matched and the
 * range is in sync (no data), or they differed and the source's data follows.
 *
 * @param offset byte offset, a multiple of 512
 * @param length bytes, a multiple of 512 in 512..32 MiB
 * @param inSync true when the digests matched
 * @param data empty when {@code inSync}, else exactly {@code length} bytes
 */
public record ChecksumReply(long offset, int length, boolean inSync, ByteBuffer data) implements Message {
    static final int VERDICT_IN_SYNC = 0;
    static final int VERDICT_DATA = 1;
    /** offset u64, length u32, verdict u8, encoding u8, reserved u16. */
    public static final int FIELDS_BYTES = 8 + 4 + 1 + 1 + 2;
    static final int RESERVED_BYTES = 2;

    public ChecksumReply {
        Check.blockRange("CSUM_REPLY", offset, length, Limits.BLOCK_BYTES_MAX);
        Check.present("CSUM_REPLY.data", data);
        int expected = inSync ? 0 : length;
        if (data.remaining() != expected) {
            throw new ProtocolException("CSUM_REPLY.data", data.remaining() + " bytes but " + expected
                    + (inSync ? " expected (an in-sync reply carries no data)" : " expected (the length field)"));
        }
        data = data.slice();
    }

    /** The range is in sync: no data. */
    public static ChecksumReply matched(long offset, int length) {
        return new ChecksumReply(offset, length, true, ByteBuffer.allocate(0));
    }

    /** The range differs: here is the source's data. */
    public static ChecksumReply differs(long offset, ByteBuffer data) {
        return new ChecksumReply(offset, data.remaining(), false, data);
    }

    /** A view of the data; reading it does not disturb the message. */
    @Override
    public ByteBuffer data() {
        return data.duplicate();
    }

    @Override
    public MessageType type() {
        return MessageType.CSUM_REPLY;
    }

    @Override
    public void encode(BodyWriter body) {
        int encoding = inSync ? BlockEncoding.RAW.code() : body.block(data);
        body.u64(offset);
        body.u32(length);
        body.u8(inSync ? VERDICT_IN_SYNC : VERDICT_DATA);
        body.u8(encoding);
        body.zeros(RESERVED_BYTES);
    }

    static ChecksumReply decode(BodyReader r) {
        long offset = r.u64("offset");
        long length = r.u32("length");
        int verdict = r.u8("verdict");
        int encoding = r.u8("encoding");
        r.reserved("reserved", RESERVED_BYTES);
        Check.range(r.field("verdict"), verdict, VERDICT_IN_SYNC, VERDICT_DATA);
        Check.range(r.field("length"), length, 1, Limits.BLOCK_BYTES_MAX);
        if (verdict == VERDICT_IN_SYNC) {
            r.noBlock(encoding, "an in-sync reply");
            return new ChecksumReply(offset, (int) length, true, ByteBuffer.allocate(0));
        }
        return new ChecksumReply(offset, (int) length, false, r.block("data", encoding, length));
    }

    @Override
    public String toString() {
        return "ChecksumReply[offset=" + offset + ", length=" + length + ", inSync=" + inSync + "]";
    }
}
