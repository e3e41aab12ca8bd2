package io.repl.protocol;

/**
 * Every bound the wire protocol enforces, in one place so the documentation, the decoder and
 * the tests agree. Names put the unit last.
 */
public final class Limits {
    /** Offsets and lengths of block requests are multiples of this. */
    public static final int SECTOR_BYTES = 512;
    /** The largest block a single DATA, RS_DATA or CSUM_REPLY may carry (uncompressed). */
    public static final int BLOCK_BYTES_MAX = 32 * 1024 * 1024;
    /** The largest device the protocol can describe: 1 EiB, far beyond any real disk. */
    public static final long DEVICE_BYTES_MAX = 1L << 60;
    /** One bitmap bit covers this many bytes of the device. */
    public static final int BITMAP_BLOCK_BYTES = 4096;
    /** The number of bitmap bits of the largest device. */
    public static final long BITMAP_BITS_MAX = DEVICE_BYTES_MAX / BITMAP_BLOCK_BYTES;
    /** The largest encoded bitmap data in one BITMAP chunk. */
    public static final int BITMAP_CHUNK_DATA_BYTES_MAX = 64 * 1024;
    /** Node and resource names are at most this many ASCII bytes. */
    public static final int NAME_BYTES_MAX = 63;
    /** Handshake nonces are this long (256 bits). */
    public static final int NONCE_BYTES = 32;
    /** HMAC-SHA256 output length. */
    public static final int MAC_BYTES = 32;
    /** A DISCONNECT detail text is at most this many UTF-8 bytes. */
    public static final int DETAIL_BYTES_MAX = 512;
    /** GenerationUuids carries at most this many history UUIDs. */
    public static final int HISTORY_UUIDS_MAX = 4;
    /** Linux errno values lie in 1..4095; anything else is not an errno. */
    public static final int ERRNO_MAX = 4095;
    /** Sequence and barrier numbers are non-negative longs so they compare without surprises. */
    public static final long SEQUENCE_MAX = Long.MAX_VALUE;

    private Limits() {
    }
}
