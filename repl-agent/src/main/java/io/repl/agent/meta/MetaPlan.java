package io.repl.agent.meta;

import io.repl.agent.config.NodeConfig;
import io.repl.agent.config.ResourceConfig;
import io.repl.agent.config.Units;
import io.repl.core.metadata.MetaPlacement;
import io.repl.core.metadata.MetadataLayout;
import io.repl.io.Backing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where one node's metadata lives and how much data it describes, worked out from the config
 * and the backing disk: internal metadata takes the tail of the disk and shrinks the volume,
 * external metadata lives in its own file and leaves the whole disk to data.
 *
 * @param layout null when the resource runs without metadata ({@code meta-disk = "none"})
 */
public record MetaPlan(Path file, MetadataLayout layout, long dataBytes) {

    public boolean none() {
        return layout == null;
    }

    /** The meta-disk when it is a file or device of its own, else null (internal or none). */
    public Path externalFile() {
        return layout != null && layout.placement() == MetaPlacement.EXTERNAL ? file : null;
    }

    /**
     * @throws IOException naming the disk and what does not fit
     */
    public static MetaPlan of(ResourceConfig config, NodeConfig node, Backing backing) throws IOException {
        long wanted = config.disk().sizeBytes();
        long disk = backing.sizeBytes();
        if (node.noMeta()) {
            long size = wanted == 0 ? disk - disk % 4096 : wanted;
            check(config, node, size, disk);
            return new MetaPlan(null, null, size);
        }
        if (node.internalMeta()) {
            MetadataLayout layout;
            try {
                layout = wanted == 0 ? MetadataLayout.internal(disk)
                        : MetadataLayout.forData(MetaPlacement.INTERNAL, wanted);
            } catch (IllegalArgumentException e) {
                throw new IOException(node.disk() + ": " + e.getMessage());
            }
            if (layout.areaOffsetBytes() + layout.areaBytes() > disk) {
                throw new IOException(node.disk() + " holds " + Units.formatSize(disk) + " (" + disk
                        + " bytes), less than disk.size " + Units.formatSize(wanted) + " plus "
                        + layout.areaBytes() + " bytes of internal metadata; grow the disk, lower disk.size in "
                        + config.file() + ", or use an external meta-disk");
            }
            return new MetaPlan(node.disk(), layout, layout.dataBytes());
        }
        long size = wanted == 0 ? disk - disk % 4096 : wanted;
        check(config, node, size, disk);
        return new MetaPlan(node.metaDisk(), MetadataLayout.forData(MetaPlacement.EXTERNAL, size), size);
    }

    private static void check(ResourceConfig config, NodeConfig node, long size, long disk) throws IOException {
        if (size > disk) {
            throw new IOException(node.disk() + " holds " + Units.formatSize(disk) + " (" + disk
                    + " bytes), less than the configured disk.size " + Units.formatSize(size)
                    + "; grow the disk or lower disk.size in " + config.file());
        }
        if (size <= 0) {
            throw new IOException(node.disk() + " is smaller than one 4K block");
        }
    }

    /** Opens the metadata area for reading and writing. */
    public FileMetaDevice openDevice() throws IOException {
        return FileMetaDevice.open(file, layout.areaOffsetBytes(), layout.areaBlocks(), Backing.probe(file).sizeBytes());
    }

    /** For external metadata: makes sure the file exists and is large enough. */
    public void prepareExternalFile() throws IOException {
        if (layout == null || layout.placement() != MetaPlacement.EXTERNAL) {
            return;
        }
        if (!Files.exists(file)) {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.createFile(file);
        }
        Backing b = Backing.probe(file);
        if (b.sizeBytes() < layout.areaBytes()) {
            if (b.blockDevice()) {
                throw new IOException(file + " holds " + b.sizeBytes() + " bytes; the metadata needs "
                        + layout.areaBytes());
            }
            try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(new byte[1]), layout.areaBytes() - 1);
            }
        }
    }
}
