package io.repl.core.replication;

import java.util.Locale;

/**
 * What a handshake that finds split brain does, by how many nodes are Primary at that moment
 * (DRBD's after-sb-0pri, after-sb-1pri and after-sb-2pri, in {@code [net]}). A policy other than
 * disconnect names the copy whose changes since the split are thrown away (the victim becomes
 * SyncTarget of the other); every policy falls back to disconnect when its conditions do not
 * hold. Both nodes must use the same policies (the same resource file): each decides from its own
 * view, and the two verdicts mirror each other only if the policies agree. {@link SplitBrainRecovery}
 * applies them.
 */
public record AfterSplitBrain(ZeroPrimaries zeroPrimaries, OnePrimary onePrimary, TwoPrimaries twoPrimaries) {

    public AfterSplitBrain {
        if (zeroPrimaries == null || onePrimary == null || twoPrimaries == null) {
            throw new IllegalArgumentException("every after-split-brain policy must be given");
        }
        if (onePrimary == OnePrimary.CONSENSUS && zeroPrimaries == ZeroPrimaries.DISCONNECT) {
            throw new IllegalArgumentException("after-sb-1pri = \"consensus\" discards the Secondary only where"
                    + " after-sb-0pri would, and after-sb-0pri is \"disconnect\", so it would never discard anything;"
                    + " choose an after-sb-0pri policy, or after-sb-1pri = \"disconnect\" or \"discard-secondary\"");
        }
    }

    /** Disconnect everywhere: a split brain waits for the operator. */
    public static AfterSplitBrain defaults() {
        return new AfterSplitBrain(ZeroPrimaries.DISCONNECT, OnePrimary.DISCONNECT, TwoPrimaries.DISCONNECT);
    }

    /** Whether some policy may resolve a split brain without the operator. */
    public boolean automatic() {
        return zeroPrimaries != ZeroPrimaries.DISCONNECT || onePrimary != OnePrimary.DISCONNECT;
    }

    /** {@code after-sb-0pri}: neither node is Primary. */
    public enum ZeroPrimaries {
        /** Stay apart; the operator resolves it (connect --discard-my-data). */
        DISCONNECT,
        /**
         * The node that became Primary after the split loses its changes; the one that was
         * Primary when the nodes parted keeps them. Only when exactly one of them was Primary then.
         */
        DISCARD_YOUNGER_PRIMARY,
        /** The node that was Primary when the nodes parted loses its changes; the same condition. */
        DISCARD_OLDER_PRIMARY,
        /**
         * A node that wrote nothing since the split takes the other's changes; only when exactly
         * one side wrote nothing (if neither did, there is nothing to lose: the lower node id
         * keeps its copy).
         */
        DISCARD_ZERO_CHANGES,
        /**
         * The node with fewer blocks changed since the split loses its changes; only when the
         * counts differ (or both are zero, as above).
         */
        DISCARD_LEAST_CHANGES;

        public String configName() {
            return dashed(this);
        }
    }

    /** {@code after-sb-1pri}: one node is Primary. */
    public enum OnePrimary {
        /** Stay apart. */
        DISCONNECT,
        /**
         * Apply after-sb-0pri; keep its verdict only if it discards the Secondary, otherwise
         * stay apart. The Primary's data is never discarded automatically.
         */
        CONSENSUS,
        /** The Secondary's changes are discarded, whatever they are. */
        DISCARD_SECONDARY;

        public String configName() {
            return dashed(this);
        }
    }

    /** {@code after-sb-2pri}: both are Primary. Only disconnect: nothing is discarded under a writer. */
    public enum TwoPrimaries {
        DISCONNECT;

        public String configName() {
            return dashed(this);
        }
    }

    private static String dashed(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
