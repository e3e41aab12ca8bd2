package io.repl.protocol;

import java.util.List;

/**
 * UUIDS: the sender's generation identifiers, which decide the resync direction and detect
 * split brain, plus its metadata flags and how many blocks it knows to be out of sync.
 *
 * @param current the current generation UUID
 * @param bitmap the generation the bitmap started in, 0 when the bitmap is unused
 * @param history older generations, newest first, at most {@link Limits#HISTORY_UUIDS_MAX}
 * @param flags {@link #CONSISTENT}, {@link #WAS_PRIMARY}, {@link #CRASHED_PRIMARY}, {@link #DEPOSED},
 *     {@link #SPLIT_AS_PRIMARY}
 * @param outOfSyncBlocks bits set in the sender's bitmap (4 KiB blocks)
 */
public record GenerationUuids(long current, long bitmap, List<Long> history, int flags, long outOfSyncBlocks)
        implements Message {
    /** The data is consistent (it may still be outdated). */
    public static final int CONSISTENT = 1;
    /** The node was Primary when its metadata was last written. */
    public static final int WAS_PRIMARY = 1 << 1;
    /** The node crashed while Primary: its activity log must be resynced. */
    public static final int CRASHED_PRIMARY = 1 << 2;
    /**
     * The witness granted the other node since this one last held the newest data: whatever
     * this copy holds beyond the common generation was never acknowledged, so a split brain with
     * it resolves with this node as the SyncTarget.
     */
    public static final int DEPOSED = 1 << 3;
    /**
     * The sender was Primary when its data split from the generation its bitmap counts from (it
     * kept writing when the nodes parted); clear for a node promoted after the split, and whenever
     * {@code bitmap} is 0. The after-split-brain policies discard-younger-primary and
     * discard-older-primary compare it.
     */
    public static final int SPLIT_AS_PRIMARY = 1 << 4;
    public static final int FLAGS_KNOWN = CONSISTENT | WAS_PRIMARY | CRASHED_PRIMARY | DEPOSED | SPLIT_AS_PRIMARY;
    static final int FIXED_BYTES = 8 + 8 + 8 + 4 + 2;
    public static final int BODY_BYTES_MAX = FIXED_BYTES + Long.BYTES * Limits.HISTORY_UUIDS_MAX;

    public GenerationUuids {
        Check.present("UUIDS.history", history);
        Check.range("UUIDS.historyCount", history.size(), 0, Limits.HISTORY_UUIDS_MAX);
        history = List.copyOf(history);
        Check.knownFlags("UUIDS.flags", flags, FLAGS_KNOWN);
        if ((flags & SPLIT_AS_PRIMARY) != 0 && bitmap == 0) {
            throw new ProtocolException("UUIDS.flags", "split-as-primary (bit 4) is set without a bitmap generation;"
                    + " it describes the split the bitmap counts from");
        }
        Check.range("UUIDS.outOfSyncBlocks", outOfSyncBlocks, 0, Limits.BITMAP_BITS_MAX);
    }

    public boolean has(int flag) {
        return (flags & flag) == flag;
    }

    @Override
    public MessageType type() {
        return MessageType.UUIDS;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(current);
        body.u64(bitmap);
        body.u64(outOfSyncBlocks);
        body.u32(Integer.toUnsignedLong(flags));
        body.u16(history.size());
        for (long uuid : history) {
            body.u64(uuid);
        }
    }

    static GenerationUuids decode(BodyReader r) {
        long current = r.u64("current");
        long bitmap = r.u64("bitmap");
        long outOfSync = r.u64("outOfSyncBlocks");
        int flags = (int) r.u32("flags");
        int count = r.u16("historyCount");
        Check.range(r.field("historyCount"), count, 0, Limits.HISTORY_UUIDS_MAX);
        Long[] history = new Long[count];
        for (int i = 0; i < count; i++) {
            history[i] = r.u64("history");
        }
        r.end();
        return new GenerationUuids(current, bitmap, List.of(history), flags, outOfSync);
    }
}
