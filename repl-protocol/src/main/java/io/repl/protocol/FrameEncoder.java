package io.repl.protocol;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Turns messages into frames under the connection's {@link WireSettings}: LZ4 compression of
 * blocks when agreed (only when it makes them smaller), header and body checksums, and the
 * block passed by reference.
 *
 * <p>Encoding a message the current phase does not allow, or one larger than the negotiated
 * block limit, is a bug in the caller and fails loudly with {@link IllegalStateException}.
 */
public final class FrameEncoder {
    private final CRC32C crc = new CRC32C();
    private WireSettings settings;

    /** An encoder for a new connection, in the handshake phase. */
    public FrameEncoder() {
        this(WireSettings.handshake());
    }

    public FrameEncoder(WireSettings settings) {
        this.settings = settings;
    }

    /** Applies new settings to every later frame. */
    public void update(WireSettings newSettings) {
        this.settings = newSettings;
    }

    public WireSettings settings() {
        return settings;
    }

    /** Encodes one message as one frame. */
    public OutboundFrame encode(Message message) {
        MessageType type = message.type();
        if (!type.allowedIn(settings.phase())) {
            throw new IllegalStateException(type + " must not be sent in the " + settings.phase() + " phase");
        }
        BodyWriter writer = new BodyWriter(settings);
        message.encode(writer);
        ByteBuffer fields = writer.fields();
        ByteBuffer block = writer.blockBytes();
        long bodyLength = (long) fields.remaining() + block.remaining();
        int bodyMax = settings.bodyBytesMax(type);
        if (bodyLength > bodyMax) {
            throw new IllegalStateException(type + " body of " + bodyLength + " bytes exceeds the negotiated limit of "
                    + bodyMax + " bytes");
        }
        crc.reset();
        crc.update(fields.duplicate());
        crc.update(block.duplicate());
        ByteBuffer head = ByteBuffer.allocate(FrameHeader.BYTES + fields.remaining());
        FrameHeader.write(head, settings.version(), type, (int) bodyLength, (int) crc.getValue());
        head.put(fields);
        return new OutboundFrame(head.flip(), block);
    }
}
