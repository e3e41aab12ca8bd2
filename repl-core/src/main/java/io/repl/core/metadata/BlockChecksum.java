package io.repl.core.metadata;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The CRC32C trailer shared by checksummed metadata blocks: the last four bytes of a block hold the
 * CRC32C of everything before them, little-endian.
 */
final class BlockChecksum {

    /** Offset of the checksum: the last 4 bytes of the block. */
    static final int OFFSET = MetaDevice.BLOCK_BYTES - Integer.BYTES;

    private BlockChecksum() {
    }

    static int compute(byte[] block) {
        CRC32C crc = new CRC32C();
        crc.update(block, 0, OFFSET);
        return (int) crc.getValue();
    }

    static void seal(byte[] block) {
        ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN).putInt(OFFSET, compute(block));
    }

    static boolean matches(byte[] block) {
        int stored = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN).getInt(OFFSET);
        return stored == compute(block);
    }
}
