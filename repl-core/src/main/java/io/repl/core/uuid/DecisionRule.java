package io.repl.core.uuid;

import java.util.Locale;

/**
 * The rule of {@link DecisionTable} that produced a decision, for logs and refusals. Rules come in
 * mirrored pairs (the same situation seen from either node) or are their own mirror.
 */
public enum DecisionRule {
    BOTH_JUST_CREATED,
    PEER_JUST_CREATED,
    SELF_JUST_CREATED,
    CURRENT_EQUAL,
    CURRENT_EQUAL_SELF_CRASHED_PRIMARY,
    CURRENT_EQUAL_PEER_CRASHED_PRIMARY,
    CURRENT_EQUAL_BOTH_CRASHED_SELF_LOWER_ID,
    CURRENT_EQUAL_BOTH_CRASHED_PEER_LOWER_ID,
    BITMAPS_CROSS_REFERENCED,
    BITMAP_MATCHES_PEER_CURRENT,
    PEER_BITMAP_MATCHES_CURRENT,
    HISTORIES_CROSS_REFERENCED,
    PEER_CURRENT_IN_HISTORY,
    CURRENT_IN_PEER_HISTORY,
    SPLIT_BRAIN_COMMON_BITMAP,
    SPLIT_BRAIN_COMMON_HISTORY,
    NO_COMMON_GENERATION;

    /** The rule the peer applies to the same situation. */
    public DecisionRule mirror() {
        switch (this) {
            case PEER_JUST_CREATED:
                return SELF_JUST_CREATED;
            case SELF_JUST_CREATED:
                return PEER_JUST_CREATED;
            case CURRENT_EQUAL_SELF_CRASHED_PRIMARY:
                return CURRENT_EQUAL_PEER_CRASHED_PRIMARY;
            case CURRENT_EQUAL_PEER_CRASHED_PRIMARY:
                return CURRENT_EQUAL_SELF_CRASHED_PRIMARY;
            case CURRENT_EQUAL_BOTH_CRASHED_SELF_LOWER_ID:
                return CURRENT_EQUAL_BOTH_CRASHED_PEER_LOWER_ID;
            case CURRENT_EQUAL_BOTH_CRASHED_PEER_LOWER_ID:
                return CURRENT_EQUAL_BOTH_CRASHED_SELF_LOWER_ID;
            case BITMAP_MATCHES_PEER_CURRENT:
                return PEER_BITMAP_MATCHES_CURRENT;
            case PEER_BITMAP_MATCHES_CURRENT:
                return BITMAP_MATCHES_PEER_CURRENT;
            case PEER_CURRENT_IN_HISTORY:
                return CURRENT_IN_PEER_HISTORY;
            case CURRENT_IN_PEER_HISTORY:
                return PEER_CURRENT_IN_HISTORY;
            default:
                return this;
        }
    }

    /** The dashed lowercase name shown to operators, e.g. {@code bitmap-matches-peer-current}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
