package io.repl.core.replication;

/**
 * What a handshake that finds split brain does, by how many nodes are Primary (DRBD's
 * after-sb-0pri, after-sb-1pri and after-sb-2pri). Every policy falls back to disconnect when its
 * conditions do not hold.
 */
public record AfterSplitBrain(ZeroPrimaries zeroPrimaries, OnePrimary onePrimary, TwoPrimaries twoPrimaries) {

    public AfterSplitBrain {
        if (zeroPrimaries == null || onePrimary == null || twoPrimaries == null) {
            throw new IllegalArgumentException("every after-split-brain policy must be given");
        }
    }

    public static AfterSplitBrain defaults() {
        return new AfterSplitBrain(ZeroPrimaries.DISCONNECT, OnePrimary.DISCONNECT, TwoPrimaries.DISCONNECT);
    }

    /** {@code after-sb-0pri}: neither node is Primary. */
    public enum ZeroPrimaries {
        DISCONNECT
    }

    /** {@code after-sb-1pri}: one node is Primary. */
    public enum OnePrimary {
        DISCONNECT
    }

    /** {@code after-sb-2pri}: both are Primary. */
    public enum TwoPrimaries {
        DISCONNECT
    }
}
