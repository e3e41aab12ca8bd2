package io.repl.core.uuid;

import java.util.Locale;

/**
 * A correction {@link DecisionTable} found necessary before deciding: one node's identifiers
 * still describe a resync whose end it never saw. The node named fixes its own identifiers (the
 * handshake persists them); the other node decides from the same corrected view.
 */
public enum Cleanup {
    /** Nothing to correct. */
    NONE,
    /**
     * This node was the source of a resync the peer finished, but never heard that it did (the
     * link broke first, or it crashed before recording it): its bitmap identifier is stale.
     */
    SELF_MISSED_RESYNC_END,
    /** The peer missed the end of a resync this node finished as its target. */
    PEER_MISSED_RESYNC_END;

    /** The same correction seen from the peer. */
    public Cleanup mirror() {
        switch (this) {
            case SELF_MISSED_RESYNC_END:
                return PEER_MISSED_RESYNC_END;
            case PEER_MISSED_RESYNC_END:
                return SELF_MISSED_RESYNC_END;
            default:
                return this;
        }
    }

    /** The dashed lowercase name shown to operators. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
