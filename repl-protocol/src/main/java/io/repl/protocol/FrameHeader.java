package io.repl.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The fixed 24-byte header in front of every frame. All fields are big-endian.
 *
 * <pre>
 *  0  magic          u32  0x5245504C ("REPL")
 *  4  version        u16  session version, or 1 for handshake frames
 *  6  type           u16  {@link MessageType#code()}
 *  8  flags          u16  none defined yet; must be 0
 * 10  reserved       u16  must be 0
 * 12  body length    u32  bytes after the header
 * 16  body crc32c    u32  CRC32C of the body
 * 20  header crc32c  u32  CRC32C of bytes 0..19
 * </pre>
 *
 * The header checksum lets the decoder trust the length before allocating; the body checksum
 * catches corruption that TCP's 16-bit checksum lets through, which matters when the body is
 * somebody's data.
 */
public final class FrameHeader {
    public static final int MAGIC = 0x5245504C;
    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 4;
    public static final int TYPE_OFFSET = 6;
    public static final int FLAGS_OFFSET = 8;
    public static final int RESERVED_OFFSET = 10;
    public static final int BODY_LENGTH_OFFSET = 12;
    public static final int BODY_CHECKSUM_OFFSET = 16;
    public static final int HEADER_CHECKSUM_OFFSET = 20;
    public static final int BYTES = 24;
    /** Frame flags defined so far: none. */
    public static final int FLAGS_KNOWN = 0;

    private FrameHeader() {
    }

    /** Writes a complete header, checksum included, at the buffer's position and advances it. */
    static void write(ByteBuffer out, int version, MessageType type, int bodyLength, int bodyChecksum) {
        ByteBuffer header = out.slice().order(ByteOrder.BIG_ENDIAN);
        header.putInt(MAGIC_OFFSET, MAGIC);
        header.putShort(VERSION_OFFSET, (short) version);
        header.putShort(TYPE_OFFSET, (short) type.code());
        header.putShort(FLAGS_OFFSET, (short) 0);
        header.putShort(RESERVED_OFFSET, (short) 0);
        header.putInt(BODY_LENGTH_OFFSET, bodyLength);
        header.putInt(BODY_CHECKSUM_OFFSET, bodyChecksum);
        header.putInt(HEADER_CHECKSUM_OFFSET, headerChecksum(header));
        out.position(out.position() + BYTES);
    }

    /** CRC32C of bytes 0..19 of a header starting at index 0 of {@code header}. */
    static int headerChecksum(ByteBuffer header) {
        CRC32C crc = new CRC32C();
        crc.update(header.duplicate().position(0).limit(HEADER_CHECKSUM_OFFSET));
        return (int) crc.getValue();
    }
}
