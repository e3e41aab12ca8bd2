package io.repl.core.uuid;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * The generation identifiers of one node's copy of the data, in the spirit of DRBD's documented
 * scheme. A value of 0 means "none" everywhere.
 *
 * <ul>
 *   <li>{@code current}: names the data generation this node holds now. It changes whenever the
 *       data may start to diverge from the peer's: on promotion while disconnected, or when a
 *       Primary loses its peer.</li>
 *   <li>{@code bitmap}: the generation the dirty bitmap is relative to. While it is set, the
 *       bitmap lists every block written since that generation, so a peer whose current UUID
 *       equals it can be brought up to date from the bitmap alone.</li>
 *   <li>{@code history}: older generations, newest first, so two nodes can still find a common
 *       ancestor (and do a full resync) when the bitmap no longer reaches back far enough.</li>
 * </ul>
 *
 * <p>Whether the node was Primary is not encoded in the identifiers (DRBD uses the lowest bit);
 * this project keeps it as an explicit superblock flag, so identifiers compare as plain numbers.
 * Instances are immutable.
 */
public final class GenerationUuids {

    /** Number of history slots kept and stored in the superblock. */
    public static final int HISTORY_SIZE = 4;
    /** Freshly created metadata: no generation at all. */
    public static final GenerationUuids EMPTY = new GenerationUuids(0, 0, new long[HISTORY_SIZE]);
    /** Drawing zero or a known identifier twice in a row from a sane source is absurd. */
    private static final int DRAW_ATTEMPTS_MAX = 16;

    private final long current;
    private final long bitmap;
    private final long[] history;

    private GenerationUuids(long current, long bitmap, long[] history) {
        this.current = current;
        this.bitmap = bitmap;
        this.history = history;
    }

    /**
     * The identifiers {@code current}, {@code bitmap} and {@code history} (newest first, at most
     * {@link #HISTORY_SIZE}, missing slots are 0).
     */
    public static GenerationUuids of(long current, long bitmap, long... history) {
        if (history.length > HISTORY_SIZE) {
            throw new IllegalArgumentException("at most " + HISTORY_SIZE
                    + " history identifiers, got " + history.length);
        }
        return new GenerationUuids(current, bitmap, Arrays.copyOf(history, HISTORY_SIZE));
    }

    public long current() {
        return current;
    }

    public long bitmap() {
        return bitmap;
    }

    /** History slot {@code index}, 0 being the newest. */
    public long history(int index) {
        if (index < 0 || index >= HISTORY_SIZE) {
            throw new IllegalArgumentException("history index " + index + " is outside 0.."
                    + (HISTORY_SIZE - 1));
        }
        return history[index];
    }

    /** A copy of the history, newest first. */
    public long[] historyCopy() {
        return history.clone();
    }

    /** Whether {@code uuid} (non-zero) is one of the history identifiers. */
    public boolean historyContains(long uuid) {
        if (uuid == 0) {
            return false;
        }
        for (long entry : history) {
            if (entry == uuid) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code uuid} (non-zero) is any identifier of this set. */
    public boolean contains(long uuid) {
        return uuid != 0 && (uuid == current || uuid == bitmap || historyContains(uuid));
    }

    /**
     * A new data generation starts: on promotion while disconnected, or when a Primary loses its
     * peer. The old current generation becomes the bitmap's base if the bitmap had none, so
     * writes from now on are tracked relative to what the peer last saw. If the bitmap already
     * had a base, the bitmap keeps covering everything since that older base and the old
     * current generation moves into history.
     */
    public GenerationUuids newCurrent(RandomGenerator random) {
        return newCurrent(draw(random));
    }

    /**
     * {@link #newCurrent(RandomGenerator)} with an identifier chosen earlier (drawn by
     * {@link #newCurrent(RandomGenerator)} on this set, then agreed with the witness).
     */
    public GenerationUuids newCurrent(long fresh) {
        if (fresh == 0 || contains(fresh)) {
            throw new IllegalArgumentException("new generation " + hex(fresh) + " is 0 or already one of " + this);
        }
        if (bitmap == 0) {
            return new GenerationUuids(fresh, current, history.clone());
        }
        return new GenerationUuids(fresh, bitmap, pushed(history, current));
    }

    /**
     * {@code new-current-uuid --clear-bitmap}: the operator asserts that both copies hold the same
     * data (typically two freshly created, still empty devices), so a new generation starts with
     * nothing to resync. The caller clears the bitmap bits and hands the same set to the peer.
     */
    public GenerationUuids newCurrentClearBitmap(RandomGenerator random) {
        return new GenerationUuids(draw(random), 0, pushed(history, current));
    }

    /**
     * A resync this node was the source of completed: the peer now holds our current generation,
     * so the bitmap's base is history and the bitmap is empty.
     */
    public GenerationUuids afterResyncAsSource() {
        return new GenerationUuids(current, 0, pushed(history, bitmap));
    }

    /**
     * A resync this node was the target of completed: our data is now the source's generation,
     * so we take the source's identifiers as they are after its own
     * {@link #afterResyncAsSource()}.
     */
    public static GenerationUuids afterResyncAsTarget(GenerationUuids sourceAfterResync) {
        if (sourceAfterResync.bitmap != 0) {
            throw new IllegalArgumentException("the source's identifiers after a resync have no "
                    + "bitmap identifier, got " + sourceAfterResync);
        }
        return sourceAfterResync;
    }

    /** Inserts {@code uuid} at the head of the history unless it is 0; the oldest falls off. */
    private static long[] pushed(long[] history, long uuid) {
        if (uuid == 0) {
            return history.clone();
        }
        long[] next = new long[HISTORY_SIZE];
        next[0] = uuid;
        System.arraycopy(history, 0, next, 1, HISTORY_SIZE - 1);
        return next;
    }

    private long draw(RandomGenerator random) {
        for (int attempt = 0; attempt < DRAW_ATTEMPTS_MAX; attempt++) {
            long candidate = random.nextLong();
            if (candidate != 0 && !contains(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("the random source returned zero or a known generation "
                + DRAW_ATTEMPTS_MAX + " times in a row; it is broken");
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof GenerationUuids that && current == that.current
                && bitmap == that.bitmap && Arrays.equals(history, that.history);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(current) * 31 + Long.hashCode(bitmap) * 17 + Arrays.hashCode(history);
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder();
        text.append(hex(current)).append(':').append(hex(bitmap));
        for (long entry : history) {
            text.append(':').append(hex(entry));
        }
        return text.toString();
    }

    /** Sixteen hex digits, the way operators see identifiers in dump-md and status. */
    public static String hex(long uuid) {
        return String.format("%016X", uuid);
    }
}
