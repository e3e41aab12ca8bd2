package io.repl.core.metadata;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One activity log transaction: the complete set of hot extents after one change, numbered, and
 * its 4 KiB on-disk block.
 *
 * <p>Each transaction records the whole set rather than a delta, so replay needs only the newest
 * valid block, and a torn newest block simply leaves the previous one (a superset of what was hot
 * when the torn one was written, minus at most the extent whose write had not been submitted yet).
 *
 * <pre>
 * offset  size  field
 *      0     8  magic "REPLALTX"
 *      8     8  metadata id (from the superblock)
 *     16     8  transaction number, starting at 1
 *     24     4  extent count n
 *     28     4  reserved, 0
 *     32   4*n  extent numbers, strictly ascending
 *   4092     4  CRC32C of bytes 0..4091
 * </pre>
 */
public final class AlTransaction {

    /** The bytes "REPLALTX" as a little-endian long. */
    public static final long MAGIC = 0x58544C414C504552L;
    static final int MAGIC_OFFSET = 0;
    static final int META_ID_OFFSET = 8;
    static final int NUMBER_OFFSET = 16;
    static final int COUNT_OFFSET = 24;
    static final int RESERVED_OFFSET = 28;
    static final int EXTENTS_OFFSET = 32;
    /** How many extent numbers fit in one block. */
    public static final int EXTENTS_MAX = (BlockChecksum.OFFSET - EXTENTS_OFFSET) / Integer.BYTES;

    private final long number;
    private final long blockIndex;
    private final long[] addedExtents;
    private final long[] evictedExtents;
    private final long[] extents;
    private final byte[] block;

    AlTransaction(long number, long blockIndex, long[] addedExtents, long[] evictedExtents,
                  long[] extents, long metaId) {
        this.number = number;
        this.blockIndex = blockIndex;
        this.addedExtents = addedExtents.clone();
        this.evictedExtents = evictedExtents.clone();
        this.extents = extents.clone();
        for (int i = 1; i < this.extents.length; i++) {
            if (this.extents[i] <= this.extents[i - 1]) {
                // The activity log keeps its hot set sorted; replay refuses any other order.
                Checks.state(false, "activity log extents must be strictly ascending, " + this.extents[i - 1]
                        + " before " + this.extents[i]);
            }
        }
        this.block = encode(metaId, number, this.extents);
    }

    /** The transaction number, one more than the last committed one. */
    public long number() {
        return number;
    }

    /** Where to write {@link #block()} in the metadata area. */
    public long blockIndex() {
        return blockIndex;
    }

    /** A copy of the block to write. */
    public byte[] block() {
        return block.clone();
    }

    /**
     * The extents this transaction makes hot (none when it only drops extents): first the one the
     * write asking for it needs, then any made hot for the writes queued behind it.
     */
    public long[] addedExtents() {
        return addedExtents.clone();
    }

    /**
     * Extents this transaction drops. Their dirty bitmap pages must be written and flushed
     * before this block is written: once it is durable, a crash no longer marks them dirty.
     */
    public long[] evictedExtents() {
        return evictedExtents.clone();
    }

    /** The hot set this transaction records, ascending. */
    public long[] extents() {
        return extents.clone();
    }

    static byte[] encode(long metaId, long number, long[] sortedExtents) {
        Checks.argument(sortedExtents.length <= EXTENTS_MAX, sortedExtents.length
                + " extents do not fit one activity log block (at most " + EXTENTS_MAX + ")");
        byte[] out = new byte[MetaDevice.BLOCK_BYTES];
        ByteBuffer buf = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(MAGIC_OFFSET, MAGIC);
        buf.putLong(META_ID_OFFSET, metaId);
        buf.putLong(NUMBER_OFFSET, number);
        buf.putInt(COUNT_OFFSET, sortedExtents.length);
        for (int i = 0; i < sortedExtents.length; i++) {
            buf.putInt(EXTENTS_OFFSET + i * Integer.BYTES, (int) sortedExtents[i]);
        }
        BlockChecksum.seal(out);
        return out;
    }

    /**
     * A transaction read back from ring slot {@code slot}.
     *
     * @param number its transaction number
     * @param extents the hot set it recorded, ascending
     */
    record Decoded(long number, long[] extents) {
    }

    /**
     * Decodes one ring block. Returns null for a block that is not a transaction of this metadata
     * (never written, torn, or left over from an earlier create-md); those are skipped. Throws for
     * a block that is ours and intact but says something impossible, since that is corruption no
     * crash can produce.
     */
    static Decoded decode(byte[] in, long metaId, long extentCount, int ringBlocks, int slot)
            throws MetadataException {
        ByteBuffer buf = ByteBuffer.wrap(in).order(ByteOrder.LITTLE_ENDIAN);
        if (buf.getLong(MAGIC_OFFSET) != MAGIC || !BlockChecksum.matches(in)
                || buf.getLong(META_ID_OFFSET) != metaId) {
            return null;
        }
        String where = "activity log slot " + slot + ": ";
        long number = buf.getLong(NUMBER_OFFSET);
        if (number < 1 || Long.remainderUnsigned(number, ringBlocks) != slot) {
            throw new MetadataException(where + "transaction number " + number
                    + " does not belong in this slot of a " + ringBlocks + "-block ring");
        }
        int count = buf.getInt(COUNT_OFFSET);
        if (count < 0 || count > EXTENTS_MAX) {
            throw new MetadataException(where + "extent count " + Integer.toUnsignedString(count)
                    + " must be in 0.." + EXTENTS_MAX);
        }
        if (buf.getInt(RESERVED_OFFSET) != 0) {
            throw new MetadataException(where + "reserved field must be 0");
        }
        long[] extents = new long[count];
        long previous = -1;
        for (int i = 0; i < count; i++) {
            long extent = Integer.toUnsignedLong(buf.getInt(EXTENTS_OFFSET + i * Integer.BYTES));
            if (extent >= extentCount || extent <= previous) {
                throw new MetadataException(where + "extent " + extent + " at index " + i
                        + " must be ascending and below " + extentCount);
            }
            extents[i] = extent;
            previous = extent;
        }
        return new Decoded(number, extents);
    }
}
