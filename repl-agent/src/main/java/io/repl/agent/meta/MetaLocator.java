package io.repl.agent.meta;

import io.repl.core.metadata.MetaPlacement;
import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.MetadataException;
import io.repl.core.metadata.MetadataLayout;
import io.repl.core.metadata.Superblock;
import io.repl.core.metadata.SuperblockPair;
import io.repl.io.Backing;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a node's metadata is, once an online resize may have moved it.
 *
 * <p>Internal metadata sits right after the data, so its place follows from the data size, and
 * the device size alone no longer tells it once the backing device grew before (or without) a
 * resize, or a resize chose a size below what the device offers. This node records the data
 * sizes whose metadata may be the newest in a small file of the agent's state directory
 * ({@code STATE_DIR/NAME.meta-location}, one size per line): both sizes while a resize moves the
 * metadata, the new one after. Opening reads the superblocks at the place the device size implies
 * and at every recorded one, and takes the highest sequence ({@link Metadata#newest}). Writing the
 * file is atomic (a new file, fsync, rename, fsync of the directory).
 *
 * <p>External metadata always starts at byte 0 of its file: its own superblock tells the size.
 */
public final class MetaLocator {
    private final Path file;

    /** {@code file} null: nothing is recorded (the place follows from the device alone). */
    public MetaLocator(Path file) {
        this.file = file;
    }

    /** The locator of resource {@code name} in {@code stateDir} (null: none). */
    public static MetaLocator in(Path stateDir, String name) {
        return new MetaLocator(stateDir == null ? null : stateDir.resolve(name + ".meta-location"));
    }

    /** Whether sizes can be recorded (a state directory exists). */
    public boolean recording() {
        return file != null;
    }

    /**
     * The plan with the layout of the newest metadata found: {@code plan} itself when nothing
     * else is valid (opening it then reports what is wrong there).
     */
    public MetaPlan locate(MetaPlan plan) throws IOException {
        if (plan.none()) {
            return plan;
        }
        long fileBytes = Backing.probe(plan.file()).sizeBytes();
        List<MetadataLayout> layouts = new ArrayList<>();
        layouts.add(plan.layout());
        if (plan.layout().placement() == MetaPlacement.EXTERNAL) {
            MetadataLayout own = externalLayout(plan, fileBytes);
            if (own != null) {
                layouts.add(own);
            }
        } else {
            for (long dataBytes : recorded()) {
                layouts.add(MetadataLayout.forData(MetaPlacement.INTERNAL, dataBytes,
                        plan.layout().alRingBlocks()));
            }
        }
        List<FileMetaDevice> devices = new ArrayList<>();
        List<Metadata.Candidate> candidates = new ArrayList<>();
        try {
            for (MetadataLayout layout : layouts) {
                if (layout.areaOffsetBytes() + layout.areaBytes() > fileBytes) {
                    continue;
                }
                FileMetaDevice dev = FileMetaDevice.open(plan.file(), layout.areaOffsetBytes(), layout.areaBlocks(),
                        fileBytes);
                devices.add(dev);
                candidates.add(new Metadata.Candidate(dev, layout));
            }
            if (candidates.isEmpty()) {
                return plan;
            }
            MetadataLayout found = candidates.get(Metadata.newest(candidates)).layout();
            return new MetaPlan(plan.file(), found, found.dataBytes());
        } catch (MetadataException nothingValid) {
            return plan;
        } finally {
            for (FileMetaDevice dev : devices) {
                dev.close();
            }
        }
    }

    /** The geometry the external file's own superblock states, if it is readable and fits. */
    private static MetadataLayout externalLayout(MetaPlan plan, long fileBytes) throws IOException {
        if (fileBytes < 2L * FileMetaDevice.BLOCK_BYTES) {
            return null;
        }
        try (FileMetaDevice head = FileMetaDevice.open(plan.file(), 0, 2, fileBytes)) {
            Superblock sb = SuperblockPair.read(head);
            return sb.layout().placement() == MetaPlacement.EXTERNAL ? sb.layout() : null;
        } catch (MetadataException unreadable) {
            return null;
        }
    }

    /** The recorded data sizes, oldest first; none when no file is there or it is unreadable. */
    List<Long> recorded() throws IOException {
        List<Long> sizes = new ArrayList<>();
        if (file == null || !Files.isRegularFile(file)) {
            return sizes;
        }
        for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
            try {
                long size = Long.parseLong(line.trim());
                if (size > 0 && size % MetadataLayout.BITMAP_GRANULE_BYTES == 0 && size <= MetadataLayout.DATA_BYTES_MAX) {
                    sizes.add(size);
                }
            } catch (NumberFormatException ignored) {
                // A line this build did not write: the superblocks decide anyway.
            }
        }
        return sizes;
    }

    /** Records that the newest metadata is at one of {@code dataBytes}' places, durably. */
    public void record(long... dataBytes) throws IOException {
        if (file == null) {
            return;
        }
        StringBuilder text = new StringBuilder();
        for (long size : dataBytes) {
            text.append(size).append('\n');
        }
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path fresh = dir.resolve(file.getFileName() + ".new");
        try (FileChannel ch = FileChannel.open(fresh, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
        Files.move(fresh, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    /** Records {@code dataBytes} alone unless that is what the file already says. */
    public void recordIfNew(long dataBytes) throws IOException {
        if (file != null && !recorded().equals(List.of(dataBytes))) {
            record(dataBytes);
        }
    }

    /** create-md: fresh metadata sits where the device size says; older records would mislead. */
    public void forget() throws IOException {
        if (file != null) {
            Files.deleteIfExists(file);
        }
    }
}
