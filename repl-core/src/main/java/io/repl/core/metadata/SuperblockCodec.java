package io.repl.core.metadata;

import io.repl.core.uuid.GenerationUuids;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The on-disk form of a {@link Superblock}: one 4096-byte block, every field little-endian, the
 * CRC32C of bytes 0..4091 in bytes 4092..4095. See METADATA.md for the table.
 */
public final class SuperblockCodec {

    /** The bytes "REPLMETA" as a little-endian long. */
    public static final long MAGIC = 0x4154454D4C504552L;

    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = 8;
    static final int FLAGS_OFFSET = 12;
    static final int SEQUENCE_OFFSET = 16;
    static final int META_ID_OFFSET = 24;
    static final int DATA_BYTES_OFFSET = 32;
    static final int PLACEMENT_OFFSET = 40;
    static final int AL_RING_BLOCKS_OFFSET = 44;
    static final int AL_OFFSET_BLOCKS_OFFSET = 48;
    static final int BITMAP_OFFSET_BLOCKS_OFFSET = 56;
    static final int BITMAP_BLOCKS_OFFSET = 64;
    static final int AREA_BLOCKS_OFFSET = 72;
    static final int BITMAP_GRANULE_OFFSET = 80;
    static final int AL_EXTENT_BYTES_OFFSET = 84;
    static final int AL_ACTIVE_MAX_OFFSET = 88;
    static final int NODE_ID_OFFSET = 92;
    static final int NODE_NAME_HASH_OFFSET = 96;
    static final int UUID_CURRENT_OFFSET = 104;
    static final int UUID_BITMAP_OFFSET = 112;
    static final int UUID_HISTORY_OFFSET = 120;
    /** First byte after the fields; the rest up to the checksum is reserved and must be zero. */
    static final int FIELDS_END = UUID_HISTORY_OFFSET + GenerationUuids.HISTORY_SIZE * Long.BYTES;

    private SuperblockCodec() {
    }

    /** A new block holding {@code superblock}, checksum included. */
    public static byte[] encode(Superblock superblock) {
        byte[] block = new byte[MetaDevice.BLOCK_BYTES];
        ByteBuffer buf = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        MetadataLayout layout = superblock.layout();
        buf.putLong(MAGIC_OFFSET, MAGIC);
        buf.putInt(VERSION_OFFSET, Superblock.FORMAT_VERSION);
        buf.putInt(FLAGS_OFFSET, superblock.flagBits());
        buf.putLong(SEQUENCE_OFFSET, superblock.sequence());
        buf.putLong(META_ID_OFFSET, superblock.metaId());
        buf.putLong(DATA_BYTES_OFFSET, layout.dataBytes());
        buf.putInt(PLACEMENT_OFFSET, layout.placement().code());
        buf.putInt(AL_RING_BLOCKS_OFFSET, layout.alRingBlocks());
        buf.putLong(AL_OFFSET_BLOCKS_OFFSET, MetadataLayout.AL_OFFSET_BLOCKS);
        buf.putLong(BITMAP_OFFSET_BLOCKS_OFFSET, layout.bitmapOffsetBlocks());
        buf.putLong(BITMAP_BLOCKS_OFFSET, layout.bitmapBlocks());
        buf.putLong(AREA_BLOCKS_OFFSET, layout.areaBlocks());
        buf.putInt(BITMAP_GRANULE_OFFSET, MetadataLayout.BITMAP_GRANULE_BYTES);
        buf.putInt(AL_EXTENT_BYTES_OFFSET, superblock.alExtentBytes());
        buf.putInt(AL_ACTIVE_MAX_OFFSET, superblock.alActiveMax());
        buf.putInt(NODE_ID_OFFSET, superblock.nodeId());
        buf.putLong(NODE_NAME_HASH_OFFSET, superblock.nodeNameHash());
        GenerationUuids uuids = superblock.uuids();
        buf.putLong(UUID_CURRENT_OFFSET, uuids.current());
        buf.putLong(UUID_BITMAP_OFFSET, uuids.bitmap());
        for (int i = 0; i < GenerationUuids.HISTORY_SIZE; i++) {
            buf.putLong(UUID_HISTORY_OFFSET + i * Long.BYTES, uuids.history(i));
        }
        BlockChecksum.seal(block);
        return block;
    }

    /**
     * Decodes and validates {@code block}. The message of the exception names the first problem
     * found: "bad magic", "checksum mismatch", or the field and what it allows.
     */
    public static Superblock decode(byte[] block) throws MetadataException {
        Checks.blockBuffer(block);
        ByteBuffer buf = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        if (buf.getLong(MAGIC_OFFSET) != MAGIC) {
            throw new MetadataException("bad magic");
        }
        if (!BlockChecksum.matches(block)) {
            throw new MetadataException("checksum mismatch");
        }
        int version = buf.getInt(VERSION_OFFSET);
        if (version != Superblock.FORMAT_VERSION) {
            throw new MetadataException("format version " + Integer.toUnsignedString(version)
                    + " is not supported (this build reads version " + Superblock.FORMAT_VERSION
                    + ")");
        }
        MetadataLayout layout = decodeLayout(buf);
        int granule = buf.getInt(BITMAP_GRANULE_OFFSET);
        if (granule != MetadataLayout.BITMAP_GRANULE_BYTES) {
            throw new MetadataException("bitmap granule " + Integer.toUnsignedString(granule)
                    + " bytes is not supported (only " + MetadataLayout.BITMAP_GRANULE_BYTES + ")");
        }
        for (int offset = FIELDS_END; offset < BlockChecksum.OFFSET; offset++) {
            if (block[offset] != 0) {
                throw new MetadataException("reserved byte " + offset + " is "
                        + (block[offset] & 0xff) + ", must be 0");
            }
        }
        long sequence = buf.getLong(SEQUENCE_OFFSET);
        int flags = buf.getInt(FLAGS_OFFSET);
        long metaId = buf.getLong(META_ID_OFFSET);
        int nodeId = buf.getInt(NODE_ID_OFFSET);
        int extentBytes = buf.getInt(AL_EXTENT_BYTES_OFFSET);
        int activeMax = buf.getInt(AL_ACTIVE_MAX_OFFSET);
        String problem = Superblock.problem(sequence, flags, layout, metaId, nodeId, extentBytes,
                activeMax);
        if (problem != null) {
            throw new MetadataException(problem);
        }
        long[] history = new long[GenerationUuids.HISTORY_SIZE];
        for (int i = 0; i < history.length; i++) {
            history[i] = buf.getLong(UUID_HISTORY_OFFSET + i * Long.BYTES);
        }
        GenerationUuids uuids = GenerationUuids.of(buf.getLong(UUID_CURRENT_OFFSET),
                buf.getLong(UUID_BITMAP_OFFSET), history);
        return new Superblock(sequence, flags, layout, metaId, nodeId,
                buf.getLong(NODE_NAME_HASH_OFFSET), extentBytes, activeMax, uuids);
    }

    /** The geometry fields, each checked against what the data size implies. */
    private static MetadataLayout decodeLayout(ByteBuffer buf) throws MetadataException {
        int placementCode = buf.getInt(PLACEMENT_OFFSET);
        MetaPlacement placement = MetaPlacement.fromCode(placementCode);
        if (placement == null) {
            throw new MetadataException("placement " + Integer.toUnsignedString(placementCode)
                    + " is unknown (1 internal, 2 external)");
        }
        long dataBytes = buf.getLong(DATA_BYTES_OFFSET);
        int ringBlocks = buf.getInt(AL_RING_BLOCKS_OFFSET);
        long bitmapBlocks = buf.getLong(BITMAP_BLOCKS_OFFSET);
        String problem = MetadataLayout.problem(placement, dataBytes, ringBlocks, bitmapBlocks);
        if (problem != null) {
            throw new MetadataException(problem);
        }
        MetadataLayout layout = new MetadataLayout(placement, dataBytes, ringBlocks, bitmapBlocks);
        expect(buf, AL_OFFSET_BLOCKS_OFFSET, MetadataLayout.AL_OFFSET_BLOCKS,
                "activity log offset");
        expect(buf, BITMAP_OFFSET_BLOCKS_OFFSET, layout.bitmapOffsetBlocks(), "bitmap offset");
        expect(buf, AREA_BLOCKS_OFFSET, layout.areaBlocks(), "metadata area size");
        return layout;
    }

    private static void expect(ByteBuffer buf, int offset, long expected, String field)
            throws MetadataException {
        long actual = buf.getLong(offset);
        if (actual != expected) {
            throw new MetadataException(field + " is " + actual + " blocks, the geometry needs "
                    + expected);
        }
    }
}
