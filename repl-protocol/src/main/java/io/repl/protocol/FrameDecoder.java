package io.repl.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Turns a byte stream into frames: an explicit state machine that accepts arbitrary chunks.
 *
 * <p>Call {@link #decode} with whatever bytes arrived. It consumes bytes from the buffer and
 * returns one frame as soon as one is complete, or null when it needs more bytes (then the
 * buffer has been fully consumed). Call it again while it returns frames: returning one frame
 * at a time lets the caller switch {@link WireSettings} right after the frame that completed
 * the handshake.
 *
 * <p>Every header field is checked before anything is allocated for the body, so the largest
 * allocation is the body limit of the current settings (a few hundred bytes during the
 * handshake; 32 MiB plus a few bytes for DATA in a session). After the first error the decoder
 * stays failed: the stream is out of step and the connection must be closed.
 *
 * <p>With {@link #blockBuffers} set, the block of a DATA or RS_DATA frame (the bytes after
 * the message's fixed fields) is received into a buffer the caller supplies, such as aligned
 * direct memory a disk write can use as it is, instead of into the heap body.
 */
public final class FrameDecoder {
    private enum State { HEADER, BODY, FAILED }

    /** Supplies the buffers blocks are received into. */
    @FunctionalInterface
    public interface BlockBuffers {
        /** A buffer with position 0 and limit {@code bytes}, which the decoder fills. */
        ByteBuffer acquire(int bytes);
    }

    private final ByteBuffer header = ByteBuffer.allocate(FrameHeader.BYTES).order(ByteOrder.BIG_ENDIAN);
    private final CRC32C crc = new CRC32C();
    private WireSettings settings;
    private State state = State.HEADER;
    private ProtocolException failure;
    private int version;
    private MessageType type;
    private int bodyChecksum;
    private ByteBuffer body;
    /** The current frame's block, when it is received apart from the body; else null. */
    private ByteBuffer block;
    private BlockBuffers blockBuffers;
    private long bodyBytesPeak;

    /** A decoder for a new connection, in the handshake phase. */
    public FrameDecoder() {
        this(WireSettings.handshake());
    }

    public FrameDecoder(WireSettings settings) {
        this.settings = settings;
    }

    /** Applies new settings; they govern every header not yet complete. */
    public void update(WireSettings newSettings) {
        this.settings = newSettings;
    }

    public WireSettings settings() {
        return settings;
    }

    /**
     * From the next header on, receives the block of every DATA and RS_DATA frame that has
     * one into a buffer from {@code buffers} (null: into the body, as by default). The frame
     * then carries it as {@link Frame#block}; whoever supplied it learns whether the decoded
     * message kept it (a raw block is a view of it; {@link MessageDecoder} decompresses an LZ4
     * block into a second buffer from the same supplier) and gets it back after a protocol
     * error by keeping track of what it handed out.
     */
    public void blockBuffers(BlockBuffers buffers) {
        this.blockBuffers = buffers;
    }

    /**
     * Consumes bytes from {@code in} and returns the next complete frame, or null when more
     * bytes are needed.
     *
     * @throws ProtocolException when the bytes break the protocol; the decoder is then failed
     */
    public Frame decode(ByteBuffer in) {
        if (state == State.FAILED) {
            throw new ProtocolException("stream", "decoder failed earlier and cannot resynchronise ("
                    + failure.getMessage() + ")");
        }
        try {
            if (state == State.HEADER && !fillHeader(in)) {
                return null;
            }
            return fillBody(in);
        } catch (ProtocolException e) {
            state = State.FAILED;
            failure = e;
            body = null;
            block = null;
            throw e;
        }
    }

    /** Marks the decoder failed because a later layer rejected a frame's body. */
    void fail(ProtocolException cause) {
        state = State.FAILED;
        failure = cause;
        body = null;
        block = null;
    }

    /** True after a protocol error. */
    public boolean isFailed() {
        return state == State.FAILED;
    }

    /** The largest body buffer this decoder has allocated, for tests and metrics. */
    public long bodyBytesPeak() {
        return bodyBytesPeak;
    }

    private boolean fillHeader(ByteBuffer in) {
        boolean magicWasComplete = header.position() >= Integer.BYTES;
        copy(in, header);
        // Checking the magic as soon as it is in lets a stray client (a port scanner, HTTP)
        // fail fast instead of waiting for 24 bytes it may never send.
        if (!magicWasComplete && header.position() >= Integer.BYTES) {
            checkMagic(header.getInt(FrameHeader.MAGIC_OFFSET));
        }
        if (header.hasRemaining()) {
            return false;
        }
        parseHeader();
        header.clear();
        state = State.BODY;
        return true;
    }

    private Frame fillBody(ByteBuffer in) {
        copy(in, body);
        if (body.hasRemaining()) {
            return null;
        }
        if (block != null) {
            copy(in, block);
            if (block.hasRemaining()) {
                return null;
            }
            block.flip();
        }
        body.flip();
        crc.reset();
        crc.update(body.duplicate());
        if (block != null) {
            // CRC32C runs on: the body then the block gives the checksum of the whole body.
            crc.update(block.duplicate());
        }
        int actual = (int) crc.getValue();
        if (actual != bodyChecksum) {
            throw new ProtocolException("header.bodyChecksum", String.format(
                    "%s body CRC32C is 0x%08x but the header says 0x%08x", type, actual, bodyChecksum));
        }
        Frame frame = new Frame(version, type, body, block);
        body = null;
        block = null;
        state = State.HEADER;
        return frame;
    }

    /**
     * Where the block of a {@code type} frame begins in its body: after the fixed fields of
     * DATA and RS_DATA; -1 for types received whole.
     */
    static int blockOffset(MessageType type) {
        switch (type) {
            case DATA: return DataWrite.FIELDS_BYTES;
            case RS_DATA: return ResyncData.FIELDS_BYTES;
            default: return -1;
        }
    }

    private static void copy(ByteBuffer from, ByteBuffer to) {
        int n = Math.min(from.remaining(), to.remaining());
        if (n > 0) {
            to.put(from.slice().limit(n));
            from.position(from.position() + n);
        }
    }

    private static void checkMagic(int magic) {
        if (magic != FrameHeader.MAGIC) {
            throw new ProtocolException("header.magic", String.format(
                    "0x%08x is not the repl magic 0x%08x", magic, FrameHeader.MAGIC));
        }
    }

    private void parseHeader() {
        int expectedChecksum = FrameHeader.headerChecksum(header);
        int headerChecksum = header.getInt(FrameHeader.HEADER_CHECKSUM_OFFSET);
        if (headerChecksum != expectedChecksum) {
            throw new ProtocolException("header.headerChecksum", String.format(
                    "CRC32C is 0x%08x but bytes 0..19 give 0x%08x", headerChecksum, expectedChecksum));
        }
        version = Short.toUnsignedInt(header.getShort(FrameHeader.VERSION_OFFSET));
        if (version != settings.version()) {
            throw new ProtocolException("header.version", "frame version " + version + " but this connection uses "
                    + settings.version() + " (" + settings.phase() + " phase)");
        }
        int code = Short.toUnsignedInt(header.getShort(FrameHeader.TYPE_OFFSET));
        type = MessageType.fromCode(code);
        if (type == null) {
            throw new ProtocolException("header.type", "unknown message type " + code + "; known types are "
                    + MessageType.knownCodes());
        }
        if (!type.allowedIn(settings.phase())) {
            throw new ProtocolException("header.type", type + " is not allowed in the " + settings.phase()
                    + " phase; it belongs to the " + type.phase() + " phase");
        }
        Check.knownFlags("header.flags", Short.toUnsignedInt(header.getShort(FrameHeader.FLAGS_OFFSET)),
                FrameHeader.FLAGS_KNOWN);
        Check.reserved("header.reserved", Short.toUnsignedInt(header.getShort(FrameHeader.RESERVED_OFFSET)));
        long length = Integer.toUnsignedLong(header.getInt(FrameHeader.BODY_LENGTH_OFFSET));
        int lengthMax = settings.bodyBytesMax(type);
        if (length > lengthMax) {
            throw new ProtocolException("header.bodyLength", type + " body of " + length
                    + " bytes exceeds the limit of " + lengthMax + " bytes");
        }
        bodyChecksum = header.getInt(FrameHeader.BODY_CHECKSUM_OFFSET);
        int fields = blockOffset(type);
        if (blockBuffers != null && fields >= 0 && length > fields) {
            int blockBytes = (int) length - fields;
            block = blockBuffers.acquire(blockBytes);
            if (block.position() != 0 || block.limit() != blockBytes) {
                throw new IllegalStateException("asked for a block buffer of " + blockBytes + " bytes, got " + block);
            }
            body = ByteBuffer.allocate(fields);
        } else {
            block = null;
            body = ByteBuffer.allocate((int) length);
        }
        bodyBytesPeak = Math.max(bodyBytesPeak, length);
    }
}
