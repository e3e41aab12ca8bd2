package io.repl.core.metadata;

import io.repl.core.uuid.GenerationUuids;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The decoded superblock: what the rest of the metadata area means and which data generation this
 * node holds. Immutable; every change makes a new instance with {@code with...} and is written by
 * {@link SuperblockPair}, which also assigns the sequence number.
 *
 * @param sequence write counter; the copy with the highest valid sequence wins on read
 * @param flagBits {@link SuperblockFlag} bits
 * @param layout the geometry of the metadata area; must match what the agent computed
 * @param metaId random identity chosen by create-md, stamped into every activity log block so
 *     blocks left over from an earlier create-md are never replayed
 * @param nodeId the node's id within the resource
 * @param nodeNameHash {@link #hashNodeName(String)} of the node's name, to catch metadata opened
 *     on the wrong node
 * @param alExtentBytes data bytes one activity log extent covers
 * @param alActiveMax how many extents may be hot at once
 * @param uuids the generation identifiers
 */
public record Superblock(long sequence, int flagBits, MetadataLayout layout, long metaId,
                         int nodeId, long nodeNameHash, int alExtentBytes, int alActiveMax,
                         GenerationUuids uuids) {

    /** The only format this build writes and reads. */
    public static final int FORMAT_VERSION = 1;
    public static final int AL_EXTENT_BYTES_DEFAULT = 4 << 20;
    public static final int AL_EXTENT_BYTES_MIN = 1 << 20;
    public static final int AL_EXTENT_BYTES_MAX = 1 << 30;
    /**
     * Default hot extents: 1000 x 4 MiB, so a Primary crash resyncs at most about 4 GiB. Every
     * miss costs a synchronous activity-log write and flush before the data write, so a hot set
     * smaller than the working set of random writes costs most of their rate (a 1 GiB set
     * under a 2 GiB random-write benchmark cut 4 KiB writes to a tenth).
     */
    public static final int AL_ACTIVE_MAX_DEFAULT = 1000;
    public static final int NODE_ID_MAX = 31;

    public Superblock {
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(uuids, "uuids");
        String problem = problem(sequence, flagBits, layout, metaId, nodeId, alExtentBytes,
                alActiveMax);
        Checks.argument(problem == null, "invalid superblock: " + problem);
    }

    /** Why these fields do not form a superblock, or null when they do. */
    static String problem(long sequence, int flagBits, MetadataLayout layout, long metaId,
                          int nodeId, int alExtentBytes, int alActiveMax) {
        if (sequence < 1) {
            return "sequence " + sequence + " must be at least 1";
        }
        if ((flagBits & ~SuperblockFlag.KNOWN_BITS) != 0) {
            return "flags 0x" + Integer.toHexString(flagBits) + " contain unknown bits 0x"
                    + Integer.toHexString(flagBits & ~SuperblockFlag.KNOWN_BITS)
                    + " (known: 0x" + Integer.toHexString(SuperblockFlag.KNOWN_BITS) + ")";
        }
        if (metaId == 0) {
            return "metadata id must not be 0";
        }
        if (nodeId < 0 || nodeId > NODE_ID_MAX) {
            return "node id " + nodeId + " must be in 0.." + NODE_ID_MAX;
        }
        if (Integer.bitCount(alExtentBytes) != 1 || alExtentBytes < AL_EXTENT_BYTES_MIN
                || alExtentBytes > AL_EXTENT_BYTES_MAX) {
            return "activity log extent of " + alExtentBytes + " bytes must be a power of two in "
                    + AL_EXTENT_BYTES_MIN + ".." + AL_EXTENT_BYTES_MAX;
        }
        if (alActiveMax < 1 || alActiveMax > AlTransaction.EXTENTS_MAX) {
            return "activity log active extents " + alActiveMax + " must be in 1.."
                    + AlTransaction.EXTENTS_MAX;
        }
        return null;
    }

    /**
     * The superblock create-md writes: no generation yet, not consistent, activity log clean,
     * a full sync pending until the identifiers or the operator decide otherwise.
     */
    public static Superblock fresh(MetadataLayout layout, long metaId, int nodeId,
                                   String nodeName) {
        int flags = SuperblockFlag.AL_CLEAN.bit();
        return new Superblock(1, flags, layout, metaId, nodeId, hashNodeName(nodeName),
                AL_EXTENT_BYTES_DEFAULT, AL_ACTIVE_MAX_DEFAULT, GenerationUuids.EMPTY);
    }

    /** A stable 64-bit FNV-1a hash of the node name's UTF-8 bytes. */
    public static long hashNodeName(String nodeName) {
        Objects.requireNonNull(nodeName, "nodeName");
        long hash = 0xcbf29ce484222325L;
        for (byte value : nodeName.getBytes(StandardCharsets.UTF_8)) {
            hash ^= value & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }

    public boolean has(SuperblockFlag flag) {
        return (flagBits & flag.bit()) != 0;
    }

    /** Number of activity log extents covering the data (the last one may be partial). */
    public long alExtentCount() {
        return MetadataLayout.ceilDiv(layout.dataBytes(), alExtentBytes);
    }

    public Superblock with(SuperblockFlag flag, boolean set) {
        int bits = set ? flagBits | flag.bit() : flagBits & ~flag.bit();
        return new Superblock(sequence, bits, layout, metaId, nodeId, nodeNameHash,
                alExtentBytes, alActiveMax, uuids);
    }

    public Superblock withUuids(GenerationUuids next) {
        return new Superblock(sequence, flagBits, layout, metaId, nodeId, nodeNameHash,
                alExtentBytes, alActiveMax, next);
    }

    public Superblock withSequence(long next) {
        return new Superblock(next, flagBits, layout, metaId, nodeId, nodeNameHash,
                alExtentBytes, alActiveMax, uuids);
    }

    /** The same metadata for another data size (an online resize). */
    public Superblock withLayout(MetadataLayout next) {
        return new Superblock(sequence, flagBits, next, metaId, nodeId, nodeNameHash,
                alExtentBytes, alActiveMax, uuids);
    }

    /** A tuning change of the activity log; only valid while no extent is hot. */
    public Superblock withActivityLog(int extentBytes, int activeMax) {
        return new Superblock(sequence, flagBits, layout, metaId, nodeId, nodeNameHash,
                extentBytes, activeMax, uuids);
    }

    /** The flag labels, for dump-md. */
    public List<String> flagLabels() {
        List<String> labels = new ArrayList<>();
        for (SuperblockFlag flag : SuperblockFlag.values()) {
            if (has(flag)) {
                labels.add(flag.label());
            }
        }
        return labels;
    }
}
