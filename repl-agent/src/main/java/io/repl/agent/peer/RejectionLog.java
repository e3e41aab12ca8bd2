package io.repl.agent.peer;

import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Decides which rejections reach the log. Anyone who can reach the port can make us reject
 * connections, as fast as they like; logging each one would let a port scanner fill the disk.
 * So each distinct reason is logged at most once per window, and the next line that is
 * logged for it says how many were left out.
 *
 * <p>Confined to the link's event loop. The number of reasons is bounded: past
 * {@link #REASONS_MAX} they all share one slot.
 */
public final class RejectionLog {
    static final int REASONS_MAX = 64;
    private static final String OVERFLOW = "(other reasons)";

    private final long windowNs;
    private final LongSupplier clockNs;
    private final Map<String, Slot> slots = new HashMap<>();

    private static final class Slot {
        long loggedAtNs;
        long suppressed;
    }

    public RejectionLog(long windowNs, LongSupplier clockNs) {
        this.windowNs = windowNs;
        this.clockNs = clockNs;
    }

    /**
     * Returns null when this rejection should not be logged, otherwise a suffix for the log
     * line: empty, or a note of how many like it were left out since the last line.
     */
    public String admit(String reason) {
        long now = clockNs.getAsLong();
        String key = slots.containsKey(reason) || slots.size() < REASONS_MAX - 1 ? reason : OVERFLOW;
        Slot slot = slots.get(key);
        if (slot == null) {
            slot = new Slot();
            slot.loggedAtNs = now;
            slots.put(key, slot);
            return "";
        }
        if (now - slot.loggedAtNs - windowNs < 0) {
            slot.suppressed++;
            return null;
        }
        long left = slot.suppressed;
        slot.loggedAtNs = now;
        slot.suppressed = 0;
        return left == 0 ? "" : " (" + left + " more like this in the last " + windowNs / 1_000_000_000L
                + " s were not logged)";
    }
}
