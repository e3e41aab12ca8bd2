package io.repl.agent.meta;

import io.repl.agent.replication.DiskResizer;
import io.repl.core.metadata.MetaPlacement;
import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.MetadataLayout;
import io.repl.io.Backing;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One node's metadata through online resizes: what the backing device offers, and the metadata
 * moved (internal) or grown in place (external) for a new data size.
 *
 * <p>Internal metadata moves to right after the new end of the data. The new area must not
 * overlap the current one (the current metadata stays valid until the new superblock is durable),
 * so a device grows by at least the metadata area's size, and shrinks by at least the new area's.
 * The {@link MetaLocator} records both sizes before the move and the new one after it, so a
 * crash anywhere finds the newest metadata on restart. External metadata grows in place and does
 * not shrink.
 */
public final class MetaResize implements DiskResizer {

    /** Told on the resource's loop when a resize committed: the new plan, device and metadata. */
    public interface Listener {
        void resized(MetaPlan plan, FileMetaDevice device, Metadata metadata);
    }

    private final Path disk;
    private final MetaLocator locator;
    private final Listener listener;
    private MetaPlan plan;
    private FileMetaDevice device;

    public MetaResize(Path disk, MetaPlan plan, FileMetaDevice device, MetaLocator locator, Listener listener) {
        this.disk = disk;
        this.plan = plan;
        this.device = device;
        this.locator = locator;
        this.listener = listener;
    }

    private long diskBytes() throws IOException {
        return Backing.probe(disk).sizeBytes();
    }

    private boolean internal() {
        return plan.layout().placement() == MetaPlacement.INTERNAL;
    }

    /**
     * Internal: the largest data size whose metadata fits behind it on the device without
     * overlapping the current area; the current size when there is none. External: the disk,
     * rounded down to 4 KiB.
     */
    @Override
    public long capacityBytes() {
        try {
            long bytes = diskBytes();
            if (!internal()) {
                return bytes - bytes % MetadataLayout.BITMAP_GRANULE_BYTES;
            }
            MetadataLayout largest = MetadataLayout.internal(bytes, plan.layout().alRingBlocks());
            long currentEnd = plan.layout().areaOffsetBytes() + plan.layout().areaBytes();
            return largest.dataBytes() >= currentEnd ? largest.dataBytes() : plan.dataBytes();
        } catch (IOException | IllegalArgumentException e) {
            return 0;
        }
    }

    @Override
    public String refusal(long dataBytes) {
        long current = plan.dataBytes();
        if (!internal()) {
            if (dataBytes < current) {
                return "an external meta-disk does not shrink online (" + plan.file() + ")";
            }
            return dataBytes > capacityBytes() ? "the disk " + disk + " holds less than " + dataBytes + " bytes" : null;
        }
        MetadataLayout next;
        long bytes;
        try {
            next = MetadataLayout.forData(MetaPlacement.INTERNAL, dataBytes, plan.layout().alRingBlocks());
            bytes = diskBytes();
        } catch (IOException | IllegalArgumentException e) {
            return "the disk " + disk + ": " + e.getMessage();
        }
        if (next.areaOffsetBytes() + next.areaBytes() > bytes) {
            return "the disk " + disk + " holds " + bytes + " bytes, less than " + dataBytes + " bytes of data and "
                    + next.areaBytes() + " bytes of internal metadata";
        }
        long currentStart = plan.layout().areaOffsetBytes();
        long currentEnd = currentStart + plan.layout().areaBytes();
        if (dataBytes < currentEnd && next.areaOffsetBytes() + next.areaBytes() > currentStart) {
            return "the internal metadata moves to the new end and must not overlap where it is now: "
                    + (dataBytes > current ? "grow by at least " + plan.layout().areaBytes() + " bytes"
                    : "shrink by at least " + next.areaBytes() + " bytes");
        }
        return null;
    }

    @Override
    public Metadata resize(Metadata current, long dataBytes, long[] dirty) throws IOException {
        String refused = refusal(dataBytes);
        if (refused != null) {
            throw new IOException(refused);
        }
        MetadataLayout next = MetadataLayout.forData(plan.layout().placement(), dataBytes,
                plan.layout().alRingBlocks());
        FileMetaDevice target;
        if (internal()) {
            // Both places may hold the newest metadata until the new superblock is durable.
            locator.record(plan.dataBytes(), dataBytes);
            target = FileMetaDevice.open(disk, next.areaOffsetBytes(), next.areaBlocks(), diskBytes());
        } else {
            extend(plan.file(), next.areaBytes());
            target = FileMetaDevice.open(plan.file(), 0, next.areaBlocks(), Backing.probe(plan.file()).sizeBytes());
        }
        Metadata resized;
        try {
            resized = current.resize(target, !internal(), next, dirty);
        } catch (IOException | RuntimeException e) {
            target.close();
            throw e;
        }
        if (internal()) {
            locator.record(dataBytes);
        }
        FileMetaDevice old = device;
        plan = new MetaPlan(plan.file(), next, dataBytes);
        device = target;
        listener.resized(plan, target, resized);
        old.close();
        return resized;
    }

    /** Makes a regular external meta-disk file at least {@code bytes} long. */
    private static void extend(Path file, long bytes) throws IOException {
        Backing b = Backing.probe(file);
        if (b.sizeBytes() >= bytes) {
            return;
        }
        if (b.blockDevice()) {
            throw new IOException(file + " holds " + b.sizeBytes() + " bytes; the metadata needs " + bytes);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[1]), bytes - 1);
            ch.force(true);
        }
    }
}
