package io.repl.agent.meta;

import io.repl.core.metadata.ActivityLog;
import io.repl.core.metadata.DirtyBitmap;
import io.repl.core.metadata.MetadataException;
import io.repl.core.metadata.Metadata;
import io.repl.core.metadata.Superblock;
import io.repl.core.metadata.SuperblockPair;
import io.repl.core.uuid.GenerationUuids;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** create-md and dump-md for a resource that is down: they own the metadata area meanwhile. */
public final class MetaCommands {
    private MetaCommands() {}

    /** What create-md found where it was asked to write. */
    public static final class Exists extends Exception {
        private static final long serialVersionUID = 1L;

        Exists(String m) {
            super(m);
        }
    }

    /**
     * Writes fresh metadata: no generation identifiers, an empty bitmap, a clean activity log.
     *
     * @throws Exists if valid metadata is there and {@code force} is false
     */
    public static Map<String, Object> create(MetaPlan plan, int nodeId, String nodeName, boolean force)
            throws IOException, Exists {
        plan.prepareExternalFile();
        try (FileMetaDevice dev = plan.openDevice()) {
            if (!force) {
                try {
                    Superblock old = SuperblockPair.read(dev);
                    throw new Exists("valid metadata is already on " + dev + " (generation "
                            + hex(old.uuids().current()) + "); --force replaces it and forgets which blocks "
                            + "differ from the peer, so the next connect needs a full sync");
                } catch (MetadataException noneThere) {
                    // Nothing valid to lose: go ahead.
                }
            }
            Metadata md = Metadata.create(dev, plan.layout(), nodeId, nodeName, new SecureRandom());
            md.closeClean();
            return describe(md.superblock(), md.bitmap(), null);
        }
    }

    /** Reads the metadata without writing anything (no recovery is run). */
    public static Map<String, Object> dump(MetaPlan plan) throws IOException, MetadataException {
        try (FileMetaDevice dev = plan.openDevice()) {
            Superblock sb = SuperblockPair.read(dev);
            if (!sb.layout().equals(plan.layout())) {
                throw new MetadataException("metadata geometry " + sb.layout() + " does not match the expected "
                        + plan.layout() + " (was the disk resized or disk.size changed?)");
            }
            return describe(sb, DirtyBitmap.load(dev, sb.layout()), ActivityLog.replay(dev, sb));
        }
    }

    /** The JSON shape of dump-md (and of create-md's answer). */
    public static Map<String, Object> describe(Superblock sb, DirtyBitmap bitmap, ActivityLog.Replay al) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("formatVersion", Superblock.FORMAT_VERSION);
        m.put("placement", sb.layout().placement().name().toLowerCase(java.util.Locale.ROOT));
        m.put("dataBytes", sb.layout().dataBytes());
        m.put("areaOffsetBytes", sb.layout().areaOffsetBytes());
        m.put("areaBytes", sb.layout().areaBytes());
        m.put("sequence", sb.sequence());
        m.put("nodeId", sb.nodeId());
        m.put("flags", sb.flagLabels());
        GenerationUuids u = sb.uuids();
        m.put("currentUuid", hex(u.current()));
        m.put("bitmapUuid", hex(u.bitmap()));
        List<String> history = new ArrayList<>();
        for (long h : u.historyCopy()) {
            history.add(hex(h));
        }
        m.put("historyUuids", history);
        m.put("outOfSyncBytes", bitmap.dirtyBytes());
        m.put("activityLog", Map.of("extentBytes", sb.alExtentBytes(), "activeMax", sb.alActiveMax(),
                "lastTransaction", al == null ? 0 : al.lastTransaction(),
                "hotExtents", al == null ? 0 : al.extents().length));
        return m;
    }

    static String hex(long v) {
        return String.format("%016X", v);
    }
}
