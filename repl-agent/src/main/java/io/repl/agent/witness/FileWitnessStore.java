package io.repl.agent.witness;

import io.repl.agent.config.ConfigLoader;
import io.repl.core.witness.WitnessRecord;
import io.repl.core.witness.WitnessStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The witness's records, one file per resource: {@code DIR/RES.record}.
 *
 * <p>A record is replaced, never edited: the new one is written to {@code RES.record.tmp},
 * flushed to the disk, renamed over the old one (atomic on a POSIX file system) and the
 * directory is flushed so the rename itself survives a crash. A crash at any point leaves
 * either the old record or the new one, and a stray temporary file is ignored by
 * {@link #load} and overwritten by the next {@link #save}.
 *
 * <p>The layout, big-endian, version 1:
 * <pre>
 * offset  bytes  field
 *  0      4      magic "RWIT"
 *  4      2      version (1)
 *  6      2      flags: bit 0 forced (the last change was an operator's --force)
 *  8      8      generation (0: no record)
 * 16      2      holders, one bit per node id
 * 18      2      ancestry count, 0..{@value WitnessRecord#ANCESTRY_MAX}
 * 20      8 × n  ancestry, newest first
 * 20+8n   4      CRC32C of every byte before it
 * </pre>
 * A file that does not match exactly (magic, version, length, checksum, or a record the
 * core would not build) is an {@link IOException} naming the file and the fault: the witness
 * then refuses to serve that resource rather than guess.
 *
 * <p>Not thread-safe: the witness calls it from its one decision thread.
 */
public final class FileWitnessStore implements WitnessStore {
    static final int MAGIC = 0x52574954; // "RWIT"
    static final int VERSION = 1;
    static final int FLAG_FORCED = 1;
    static final String SUFFIX = ".record";
    static final String TEMP_SUFFIX = ".record.tmp";
    private static final int HEADER_BYTES = 20;
    private static final int CRC_BYTES = 4;
    private static final int FILE_BYTES_MAX = HEADER_BYTES + Long.BYTES * WitnessRecord.ANCESTRY_MAX + CRC_BYTES;

    private final Path dir;

    private FileWitnessStore(Path dir) {
        this.dir = dir;
    }

    /** A store in {@code dir}, created (with its parents) if it does not exist. */
    public static FileWitnessStore open(Path dir) throws IOException {
        Files.createDirectories(dir);
        return new FileWitnessStore(dir);
    }

    /** Where the record of {@code resource} lives. */
    public Path file(String resource) {
        // Names reach here from the configuration, which allows only these; checked again
        // because a name with a slash would write outside the directory.
        if (!ConfigLoader.NAME.matcher(resource).matches()) {
            throw new IllegalArgumentException("not a resource name: '" + resource + "'");
        }
        return dir.resolve(resource + SUFFIX);
    }

    @Override
    public WitnessRecord load(String resource) throws IOException {
        Path file = file(resource);
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > FILE_BYTES_MAX) {
                throw corrupt(file, size + " bytes, more than a witness record can have (" + FILE_BYTES_MAX
                        + "); not a witness record");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return WitnessRecord.NONE;
        }
        return decode(file, bytes);
    }

    @Override
    public void save(String resource, WitnessRecord record) throws IOException {
        Path file = file(resource);
        Path temp = dir.resolve(resource + TEMP_SUFFIX);
        ByteBuffer bytes = encode(record);
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (bytes.hasRemaining()) {
                ch.write(bytes);
            }
            ch.force(true);
        }
        try {
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException(dir + ": cannot replace " + file.getFileName()
                    + " atomically; the witness's state directory must be on a local POSIX file system", e);
        }
        // The rename is an entry in the directory: without this it may be lost in a crash
        // after we answered, and the witness would wake up with the old record.
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    static ByteBuffer encode(WitnessRecord record) {
        List<Long> ancestry = record.ancestry();
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + Long.BYTES * ancestry.size() + CRC_BYTES)
                .order(ByteOrder.BIG_ENDIAN);
        b.putInt(MAGIC).putShort((short) VERSION).putShort((short) (record.forced() ? FLAG_FORCED : 0))
                .putLong(record.generation()).putShort((short) record.holders()).putShort((short) ancestry.size());
        for (long a : ancestry) {
            b.putLong(a);
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.flip();
    }

    static WitnessRecord decode(Path file, byte[] bytes) throws IOException {
        if (bytes.length < HEADER_BYTES + CRC_BYTES) {
            throw corrupt(file, "only " + bytes.length + " bytes; a record has at least " + (HEADER_BYTES + CRC_BYTES)
                    + " (truncated?)");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
        int magic = b.getInt();
        if (magic != MAGIC) {
            throw corrupt(file, String.format("magic is 0x%08X, not 0x%08X (\"RWIT\"); not a witness record", magic,
                    MAGIC));
        }
        int version = Short.toUnsignedInt(b.getShort());
        if (version != VERSION) {
            throw corrupt(file, "version " + version + ", but this build reads only version " + VERSION
                    + " (written by a newer witness?)");
        }
        int flags = Short.toUnsignedInt(b.getShort());
        long generation = b.getLong();
        int holders = Short.toUnsignedInt(b.getShort());
        int count = Short.toUnsignedInt(b.getShort());
        int expected = HEADER_BYTES + Long.BYTES * count + CRC_BYTES;
        if (count > WitnessRecord.ANCESTRY_MAX || bytes.length != expected) {
            throw corrupt(file, bytes.length + " bytes for " + count + " ancestors; expected " + expected
                    + " (truncated, or the count is damaged)");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - CRC_BYTES);
        int stored = ByteBuffer.wrap(bytes, bytes.length - CRC_BYTES, CRC_BYTES).order(ByteOrder.BIG_ENDIAN).getInt();
        if (stored != (int) crc.getValue()) {
            throw corrupt(file, String.format("checksum mismatch: stored 0x%08X, computed 0x%08X (the file is damaged)",
                    stored, (int) crc.getValue()));
        }
        if ((flags & ~FLAG_FORCED) != 0) {
            throw corrupt(file, String.format("unknown flags 0x%04X", flags));
        }
        List<Long> ancestry = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            ancestry.add(b.getLong());
        }
        try {
            return new WitnessRecord(generation, holders, ancestry, (flags & FLAG_FORCED) != 0);
        } catch (IllegalArgumentException e) {
            throw corrupt(file, "the checksum matches but the record is impossible: " + e.getMessage());
        }
    }

    private static IOException corrupt(Path file, String what) {
        return new IOException(file + ": " + what);
    }

    @Override
    public String toString() {
        return "FileWitnessStore[" + dir + "]";
    }
}
