package io.repl.protocol;

/**
 * What the encoder and decoder of one connection have agreed on: the phase (handshake or
 * authenticated session), the session protocol version, whether LZ4 blocks are allowed and the
 * largest block. The agent starts every connection with {@link #handshake()} and switches both
 * directions to {@link #session} once the handshake succeeds, so an unauthenticated peer can
 * never make the decoder allocate more than a few hundred bytes.
 *
 * @param phase the connection phase; HANDSHAKE or SESSION
 * @param version the header version frames must carry
 * @param lz4 whether LZ4-compressed blocks are sent and accepted
 * @param blockBytesMax the largest uncompressed block, a sector multiple up to 32 MiB
 * @param zeroBlocks whether RS_DATA may carry a range of zeroes without its bytes (encoding 2)
 */
public record WireSettings(MessageType.Phase phase, int version, boolean lz4, int blockBytesMax,
                           boolean zeroBlocks) {

    public WireSettings {
        if (phase == null || phase == MessageType.Phase.ANY) {
            throw new IllegalArgumentException("phase must be HANDSHAKE or SESSION, got " + phase);
        }
        if (phase == MessageType.Phase.HANDSHAKE && version != ProtocolVersion.HANDSHAKE_FRAME_VERSION) {
            throw new IllegalArgumentException("handshake frames use version "
                    + ProtocolVersion.HANDSHAKE_FRAME_VERSION + ", got " + version);
        }
        if (phase == MessageType.Phase.SESSION && !ProtocolVersion.isSupported(version)) {
            throw new IllegalArgumentException("session version " + version + " is outside what this build speaks ("
                    + ProtocolVersion.MIN + ".." + ProtocolVersion.MAX + ")");
        }
        if (blockBytesMax < 0 || blockBytesMax > Limits.BLOCK_BYTES_MAX || blockBytesMax % Limits.SECTOR_BYTES != 0) {
            throw new IllegalArgumentException("blockBytesMax " + blockBytesMax
                    + " must be a multiple of 512 in 0.." + Limits.BLOCK_BYTES_MAX);
        }
    }

    /** The settings of every connection until authentication succeeds: no blocks at all. */
    public static WireSettings handshake() {
        return new WireSettings(MessageType.Phase.HANDSHAKE, ProtocolVersion.HANDSHAKE_FRAME_VERSION, false, 0,
                false);
    }

    /** Session settings with the largest block size; lower it later with {@link #withBlockBytesMax}. */
    public static WireSettings session(int version, int agreedFeatures) {
        return new WireSettings(MessageType.Phase.SESSION, version,
                Features.has(agreedFeatures, Features.LZ4), Limits.BLOCK_BYTES_MAX,
                Features.has(agreedFeatures, Features.ZERO_BLOCKS));
    }

    /** The same settings with a smaller (or larger) block limit, e.g. from the peer's SIZES. */
    public WireSettings withBlockBytesMax(int bytes) {
        return new WireSettings(phase, version, lz4, bytes, zeroBlocks);
    }

    /** The largest body of {@code type} under these settings. */
    public int bodyBytesMax(MessageType type) {
        return type.bodyBytesMax(blockBytesMax);
    }
}
