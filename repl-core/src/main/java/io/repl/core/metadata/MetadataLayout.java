package io.repl.core.metadata;

/**
 * Where each structure sits inside the metadata area, in {@link MetaDevice#BLOCK_BYTES} blocks.
 *
 * <pre>
 * block 0                  superblock copy A (even sequence numbers)
 * block 1                  superblock copy B (odd sequence numbers)
 * blocks 2 .. 2+R-1        activity log ring, R transaction blocks
 * blocks 2+R .. 2+R+M-1    dirty bitmap, M pages, 1 bit per 4 KiB of data
 * </pre>
 *
 * <p>The layout is a pure function of the data size and the ring size, so the agent can locate
 * internal metadata from the device size alone before it has read anything, and the superblock's
 * copy of the geometry is a check, not the source of truth.
 *
 * @param placement internal (tail of the backing device) or external (a separate file)
 * @param dataBytes usable data bytes, a positive multiple of 4096
 * @param alRingBlocks number of activity log transaction blocks
 * @param bitmapBlocks number of bitmap pages; always {@link #bitmapBlocksFor(long)} of the data
 */
public record MetadataLayout(MetaPlacement placement, long dataBytes, int alRingBlocks,
                             long bitmapBlocks) {

    /** Bytes of data one bitmap bit stands for. */
    public static final int BITMAP_GRANULE_BYTES = 4096;
    /** Bitmap bits held by one bitmap page. */
    public static final long BITS_PER_PAGE = MetaDevice.BLOCK_BYTES * 8L;
    /** Data bytes covered by one bitmap page (128 MiB). */
    public static final long DATA_BYTES_PER_PAGE = BITS_PER_PAGE * BITMAP_GRANULE_BYTES;
    /** The two superblock copies come first. */
    public static final int SUPERBLOCK_COPIES = 2;
    /** Block index of superblock copy A. */
    public static final long SUPERBLOCK_A_BLOCK = 0;
    /** Block index of superblock copy B. */
    public static final long SUPERBLOCK_B_BLOCK = 1;
    /** The activity log ring starts right after the superblocks. */
    public static final long AL_OFFSET_BLOCKS = SUPERBLOCK_COPIES;
    /** Ring size used unless the operator asks otherwise: 256 KiB of transactions. */
    public static final int AL_RING_BLOCKS_DEFAULT = 64;
    /** A ring needs two blocks so a torn newest transaction leaves the previous one intact. */
    public static final int AL_RING_BLOCKS_MIN = 2;
    public static final int AL_RING_BLOCKS_MAX = 1024;
    /** 256 TiB: its bitmap (8 GiB) still fits one Java long[]. */
    public static final long DATA_BYTES_MAX = 1L << 48;

    public MetadataLayout {
        String problem = problem(placement, dataBytes, alRingBlocks, bitmapBlocks);
        Checks.argument(problem == null, "invalid metadata layout: " + problem);
    }

    /** The layout for {@code dataBytes} of data with the default activity log ring. */
    public static MetadataLayout forData(MetaPlacement placement, long dataBytes) {
        return forData(placement, dataBytes, AL_RING_BLOCKS_DEFAULT);
    }

    /** The layout for {@code dataBytes} of data with an activity log of {@code alRingBlocks}. */
    public static MetadataLayout forData(MetaPlacement placement, long dataBytes,
                                         int alRingBlocks) {
        Checks.argument(dataBytes > 0 && dataBytes <= DATA_BYTES_MAX,
                "data size must be in 1.." + DATA_BYTES_MAX + " bytes, got " + dataBytes);
        return new MetadataLayout(placement, dataBytes, alRingBlocks, bitmapBlocksFor(dataBytes));
    }

    /**
     * The internal layout of a backing device of {@code deviceBytes}: the largest 4 KiB-aligned
     * data size whose metadata still fits behind it.
     */
    public static MetadataLayout internal(long deviceBytes) {
        return internal(deviceBytes, AL_RING_BLOCKS_DEFAULT);
    }

    /** As {@link #internal(long)} with an activity log ring of {@code alRingBlocks}. */
    public static MetadataLayout internal(long deviceBytes, int alRingBlocks) {
        long alignedBytes = deviceBytes - Math.floorMod(deviceBytes, (long) BITMAP_GRANULE_BYTES);
        long fixedBytes = (AL_OFFSET_BLOCKS + alRingBlocks) * (long) MetaDevice.BLOCK_BYTES;
        // Sizing the bitmap for the whole device overestimates it by at most one page; one more
        // step with the smaller data size recovers that page when it can.
        long firstGuess = alignedBytes - fixedBytes
                - bitmapBlocksFor(Math.max(alignedBytes, 1)) * MetaDevice.BLOCK_BYTES;
        Checks.argument(firstGuess >= BITMAP_GRANULE_BYTES, "a device of " + deviceBytes
                + " bytes is too small for internal metadata (it needs more than "
                + (alignedBytes - firstGuess) + " bytes of metadata plus 4096 bytes of data)");
        long secondGuess = alignedBytes - fixedBytes
                - bitmapBlocksFor(firstGuess) * MetaDevice.BLOCK_BYTES;
        long fitting = secondGuess + fixedBytes + bitmapBlocksFor(secondGuess)
                * MetaDevice.BLOCK_BYTES <= alignedBytes ? secondGuess : firstGuess;
        return forData(MetaPlacement.INTERNAL, Math.min(fitting, DATA_BYTES_MAX), alRingBlocks);
    }

    /** Bitmap pages for {@code dataBytes}: one bit per 4 KiB, rounded up to whole pages. */
    public static long bitmapBlocksFor(long dataBytes) {
        Checks.argument(dataBytes >= 0, "data size must not be negative, got " + dataBytes);
        long bits = ceilDiv(dataBytes, BITMAP_GRANULE_BYTES);
        return ceilDiv(bits, BITS_PER_PAGE);
    }

    /** Why these values do not form a layout, or null when they do. */
    static String problem(MetaPlacement placement, long dataBytes, int alRingBlocks,
                          long bitmapBlocks) {
        if (placement == null) {
            return "placement must be internal or external";
        }
        if (dataBytes <= 0 || dataBytes > DATA_BYTES_MAX
                || dataBytes % BITMAP_GRANULE_BYTES != 0) {
            return "data size " + dataBytes + " must be a multiple of " + BITMAP_GRANULE_BYTES
                    + " in " + BITMAP_GRANULE_BYTES + ".." + DATA_BYTES_MAX;
        }
        if (alRingBlocks < AL_RING_BLOCKS_MIN || alRingBlocks > AL_RING_BLOCKS_MAX) {
            return "activity log ring of " + alRingBlocks + " blocks must be in "
                    + AL_RING_BLOCKS_MIN + ".." + AL_RING_BLOCKS_MAX;
        }
        if (bitmapBlocks != bitmapBlocksFor(dataBytes)) {
            return "bitmap of " + bitmapBlocks + " blocks does not match data size " + dataBytes
                    + " (which needs " + bitmapBlocksFor(dataBytes) + ")";
        }
        return null;
    }

    /** Number of 4 KiB data blocks, which is the number of meaningful bitmap bits. */
    public long dataBlocks() {
        return dataBytes / BITMAP_GRANULE_BYTES;
    }

    /** Block index of the first bitmap page. */
    public long bitmapOffsetBlocks() {
        return AL_OFFSET_BLOCKS + alRingBlocks;
    }

    /** Blocks in the whole metadata area. */
    public long areaBlocks() {
        return bitmapOffsetBlocks() + bitmapBlocks;
    }

    /** Bytes in the whole metadata area. */
    public long areaBytes() {
        return areaBlocks() * MetaDevice.BLOCK_BYTES;
    }

    /** Bytes of the bitmap alone. */
    public long bitmapBytes() {
        return bitmapBlocks * MetaDevice.BLOCK_BYTES;
    }

    /**
     * Byte offset of the metadata area in its file: right after the data for internal metadata,
     * 0 for an external file.
     */
    public long areaOffsetBytes() {
        return placement == MetaPlacement.INTERNAL ? dataBytes : 0;
    }

    /** Division rounding up, for non-negative values, without overflowing near Long.MAX_VALUE. */
    static long ceilDiv(long value, long divisor) {
        return value / divisor + (value % divisor == 0 ? 0 : 1);
    }
}
