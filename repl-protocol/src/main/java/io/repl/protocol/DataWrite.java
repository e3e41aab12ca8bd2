package io.repl.protocol;

import java.nio.ByteBuffer;

/**
 * DATA: one application write mirrored to the peer.
 *
 * <p>The block is held by reference: the encoder sends it without copying (unless it
 * compresses it), so the caller must not change those bytes until the frame is written. A
 * decoded block is a view of the frame's own body or a freshly decompressed buffer.
 *
 * @param seq the write's sequence number, echoed by RECV_ACK, WRITE_ACK and NEG_ACK
 * @param offset byte offset on the device, a multiple of 512
 * @param length bytes written, a multiple of 512 in 512..32 MiB
 * @param flags {@link #FUA}, {@link #FLUSH}, {@link #ZEROES}, {@link #TRIM}
 * @param data exactly {@code length} bytes, or empty for ZEROES and TRIM
 */
public record DataWrite(long seq, long offset, int length, int flags, ByteBuffer data) implements Message {
    /** The peer must make this write durable before acknowledging it. */
    public static final int FUA = 1;
    /** The peer must flush its disk before applying this write. */
    public static final int FLUSH = 1 << 1;
    /** Write zeroes over the range; no data travels. */
    public static final int ZEROES = 1 << 2;
    /** Discard the range; no data travels. Only sent when TRIM was agreed. */
    public static final int TRIM = 1 << 3;
    public static final int FLAGS_KNOWN = FUA | FLUSH | ZEROES | TRIM;
    /** seq u64, offset u64, length u32, flags u16, encoding u8, reserved u8. */
    public static final int FIELDS_BYTES = 8 + 8 + 4 + 2 + 1 + 1;
    static final int RESERVED_BYTES = 1;

    public DataWrite {
        Check.range("DATA.seq", seq, 0, Limits.SEQUENCE_MAX);
        Check.blockRange("DATA", offset, length, Limits.BLOCK_BYTES_MAX);
        Check.range("DATA.flags", flags, 0, 0xFFFF);
        Check.knownFlags("DATA.flags", flags, FLAGS_KNOWN);
        if ((flags & ZEROES) != 0 && (flags & TRIM) != 0) {
            throw new ProtocolException("DATA.flags", "ZEROES and TRIM are mutually exclusive");
        }
        Check.present("DATA.data", data);
        int expected = carriesData(flags) ? length : 0;
        if (data.remaining() != expected) {
            throw new ProtocolException("DATA.data", data.remaining() + " bytes but " + expected + " expected"
                    + (carriesData(flags) ? " (the length field)" : " (ZEROES and TRIM carry no data)"));
        }
        data = data.slice();
    }

    /** A write of {@code data} at {@code offset}. */
    public static DataWrite of(long seq, long offset, ByteBuffer data, int flags) {
        return new DataWrite(seq, offset, data.remaining(), flags, data);
    }

    /** A data-less ZEROES or TRIM request; {@code kind} is {@link #ZEROES} or {@link #TRIM}. */
    public static DataWrite withoutData(long seq, long offset, int length, int kind, int otherFlags) {
        return new DataWrite(seq, offset, length, kind | otherFlags, ByteBuffer.allocate(0));
    }

    /** A view of the data; reading it does not disturb the message. */
    @Override
    public ByteBuffer data() {
        return data.duplicate();
    }

    public boolean has(int flag) {
        return (flags & flag) == flag;
    }

    static boolean carriesData(int flags) {
        return (flags & (ZEROES | TRIM)) == 0;
    }

    @Override
    public MessageType type() {
        return MessageType.DATA;
    }

    @Override
    public void encode(BodyWriter body) {
        int encoding = carriesData(flags) ? body.block(data) : BlockEncoding.RAW.code();
        body.u64(seq);
        body.u64(offset);
        body.u32(length);
        body.u16(flags);
        body.u8(encoding);
        body.zeros(RESERVED_BYTES);
    }

    static DataWrite decode(BodyReader r) {
        long seq = r.u64("seq");
        long offset = r.u64("offset");
        long length = r.u32("length");
        int flags = r.u16("flags");
        int encoding = r.u8("encoding");
        r.reserved("reserved", RESERVED_BYTES);
        Check.knownFlags(r.field("flags"), flags, FLAGS_KNOWN);
        Check.range(r.field("length"), length, 1, Limits.BLOCK_BYTES_MAX);
        ByteBuffer data;
        if (carriesData(flags)) {
            data = r.block("data", encoding, length);
        } else {
            r.noBlock(encoding, "a ZEROES or TRIM write");
            data = ByteBuffer.allocate(0);
        }
        return new DataWrite(seq, offset, (int) length, flags, data);
    }

    @Override
    public String toString() {
        return "DataWrite[seq=" + seq + ", offset=" + offset + ", length=" + length
                + String.format(", flags=0x%x]", flags);
    }
}
