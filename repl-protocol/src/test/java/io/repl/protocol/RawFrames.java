package io.repl.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/** Builds frames field by field, with correct checksums unless a test breaks them on purpose. */
final class RawFrames {
    private RawFrames() {
    }

    static int crc(ByteBuffer b) {
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate());
        return (int) crc.getValue();
    }

    /** A frame whose header fields are given; both checksums are computed. */
    static ByteBuffer frame(int magic, int version, int type, int flags, int reserved, long length, byte[] body) {
        ByteBuffer out = ByteBuffer.allocate(FrameHeader.BYTES + body.length).order(ByteOrder.BIG_ENDIAN);
        out.putInt(magic).putShort((short) version).putShort((short) type).putShort((short) flags)
                .putShort((short) reserved).putInt((int) length).putInt(crc(ByteBuffer.wrap(body)));
        out.putInt(FrameHeader.HEADER_CHECKSUM_OFFSET, FrameHeader.headerChecksum(out));
        out.position(FrameHeader.BYTES);
        out.put(body);
        return out.flip();
    }

    /** A frame for the session phase (handshake-only types keep the handshake version). */
    static ByteBuffer frame(MessageType type, byte[] body) {
        return frame(type, body, type.phase() == MessageType.Phase.HANDSHAKE ? ProtocolVersion.HANDSHAKE_FRAME_VERSION
                : ProtocolVersion.MAX);
    }

    static ByteBuffer frame(MessageType type, byte[] body, int version) {
        return frame(FrameHeader.MAGIC, version, type.code(), 0, 0, body.length, body);
    }

    /** Recomputes both checksums of a complete frame in place (for fuzzing past them). */
    static void fixChecksums(byte[] frame) {
        ByteBuffer b = ByteBuffer.wrap(frame).order(ByteOrder.BIG_ENDIAN);
        if (frame.length < FrameHeader.BYTES) {
            return;
        }
        b.putInt(FrameHeader.BODY_CHECKSUM_OFFSET, crc(ByteBuffer.wrap(frame, FrameHeader.BYTES,
                frame.length - FrameHeader.BYTES)));
        b.putInt(FrameHeader.HEADER_CHECKSUM_OFFSET, FrameHeader.headerChecksum(b));
    }

    /** A big-endian body builder. */
    static final class Body {
        private final ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.BIG_ENDIAN);

        Body u8(int v) {
            b.put((byte) v);
            return this;
        }

        Body u16(int v) {
            b.putShort((short) v);
            return this;
        }

        Body u32(long v) {
            b.putInt((int) v);
            return this;
        }

        Body u64(long v) {
            b.putLong(v);
            return this;
        }

        Body bytes(byte[] v) {
            b.put(v);
            return this;
        }

        Body zeros(int n) {
            return bytes(new byte[n]);
        }

        byte[] done() {
            byte[] out = new byte[b.position()];
            b.duplicate().flip().get(out);
            return out;
        }
    }
}
