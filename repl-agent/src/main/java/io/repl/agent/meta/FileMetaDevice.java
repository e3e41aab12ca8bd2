package io.repl.agent.meta;

import io.repl.core.metadata.MetaDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A metadata area in a file or block device: the tail of the data disk (internal) or a file
 * of its own (external), starting at a byte offset. Plain positional I/O and fdatasync; the
 * metadata formats above are built to survive torn and lost unflushed writes.
 */
public final class FileMetaDevice implements MetaDevice, AutoCloseable {
    private final Path path;
    private final FileChannel channel;
    private final long offsetBytes;
    private final long blocks;
    /** Block writes and flushes since opened, for metrics: one writer at a time, read by others. */
    private volatile long writes;
    private volatile long flushes;

    private FileMetaDevice(Path path, FileChannel channel, long offsetBytes, long blocks) {
        this.path = path;
        this.channel = channel;
        this.offsetBytes = offsetBytes;
        this.blocks = blocks;
    }

    /**
     * Opens {@code blocks} metadata blocks at {@code offsetBytes} of {@code path}.
     *
     * @throws IOException if the file is too short to hold them
     */
    public static FileMetaDevice open(Path path, long offsetBytes, long blocks, long fileBytes) throws IOException {
        long need = offsetBytes + blocks * BLOCK_BYTES;
        if (fileBytes < need) {
            throw new IOException(path + " holds " + fileBytes + " bytes; the metadata area needs " + need);
        }
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new FileMetaDevice(path, ch, offsetBytes, blocks);
    }

    @Override
    public long blockCount() {
        return blocks;
    }

    private long position(long block, byte[] buf) {
        if (block < 0 || block >= blocks) {
            throw new IllegalArgumentException("metadata block " + block + " outside 0.." + (blocks - 1));
        }
        if (buf.length != BLOCK_BYTES) {
            throw new IllegalArgumentException("metadata buffers are " + BLOCK_BYTES + " bytes, got " + buf.length);
        }
        return offsetBytes + block * BLOCK_BYTES;
    }

    @Override
    public void read(long blockIndex, byte[] dst) throws IOException {
        long pos = position(blockIndex, dst);
        ByteBuffer b = ByteBuffer.wrap(dst);
        while (b.hasRemaining()) {
            int n = channel.read(b, pos + b.position());
            if (n < 0) {
                throw new IOException(path + ": metadata block " + blockIndex + " lies past the end of the file");
            }
        }
    }

    @Override
    public void write(long blockIndex, byte[] src) throws IOException {
        long pos = position(blockIndex, src);
        ByteBuffer b = ByteBuffer.wrap(src);
        while (b.hasRemaining()) {
            channel.write(b, pos + b.position());
        }
        writes++;
    }

    /** Metadata blocks written since opened. */
    public long writes() {
        return writes;
    }

    /** Flushes of the metadata since opened. */
    public long flushes() {
        return flushes;
    }

    @Override
    public void flush() throws IOException {
        channel.force(false);
        flushes++;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return path + (offsetBytes == 0 ? "" : " at byte " + offsetBytes);
    }
}
