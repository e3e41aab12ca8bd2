package io.repl.core.uuid;

/**
 * The generation a resync runs under, so that an interrupted resync resumes instead of starting
 * over. As DRBD does, the source takes a fresh bitmap identifier S when the resync starts and
 * the target takes S as its current identifier: from then on the source's bitmap and the
 * target's own bitmap together list every block the target still lacks, and the next handshake
 * finds "the peer's current is our bitmap identifier" (decision rule 5), a bitmap resync of what
 * is left, whatever happened in between (a disconnect, a crash of either side, writes of the
 * source alone: those keep S as the bitmap identifier, see {@link GenerationUuids#newCurrent}).
 *
 * <p>S is derived from the identifiers both nodes sent in the handshake, so both compute the
 * same value without another message. It is needed only when the relation does not exist yet:
 * a bitmap resync where the target's current already is the source's bitmap identifier keeps
 * the identifiers as they are.
 */
public final class SyncGeneration {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private SyncGeneration() {
    }

    /** Whether an interrupted resync from {@code source} into {@code target} resumes without a new identifier. */
    public static boolean resumesAsIs(GenerationUuids source, GenerationUuids target) {
        return source.bitmap() != 0 && source.bitmap() == target.current();
    }

    /**
     * The identifier a resync from {@code source} into {@code target} runs under: a pure function
     * of both sets, never 0 and never one of their identifiers.
     */
    public static long derive(GenerationUuids source, GenerationUuids target) {
        long hash = mix(GOLDEN ^ source.current());
        hash = mix(hash ^ source.bitmap());
        hash = mix(hash ^ target.current());
        hash = mix(hash ^ target.bitmap());
        for (int i = 0; i < GenerationUuids.HISTORY_SIZE; i++) {
            hash = mix(hash ^ source.history(i));
            hash = mix(hash ^ target.history(i) * GOLDEN);
        }
        while (hash == 0 || source.contains(hash) || target.contains(hash)) {
            hash = mix(hash + GOLDEN);
        }
        return hash;
    }

    /**
     * The source's identifiers while the resync runs: the bitmap identifier becomes {@code sync}
     * (an older one moves into history, as when a resync ends).
     */
    public static GenerationUuids asSource(GenerationUuids source, long sync) {
        if (source.bitmap() == sync) {
            return source;
        }
        long[] history = source.historyCopy();
        if (source.bitmap() != 0) {
            System.arraycopy(history, 0, history, 1, GenerationUuids.HISTORY_SIZE - 1);
            history[0] = source.bitmap();
        }
        return GenerationUuids.of(source.current(), sync, history);
    }

    /**
     * The target's identifiers while the resync runs: current {@code sync}, no bitmap identifier
     * (its bitmap lists the blocks still to fetch), its history unchanged. Its copy is not
     * consistent until the resync ends, so it never becomes a source under these identifiers.
     */
    public static GenerationUuids asTarget(GenerationUuids target, long sync) {
        return GenerationUuids.of(sync, 0, target.historyCopy());
    }

    /** SplitMix64's finaliser: every input bit affects every output bit. */
    private static long mix(long value) {
        long z = value;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
