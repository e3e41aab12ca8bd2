package io.repl.core.replication;

import java.util.Arrays;
import java.util.Collections;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Every event the core runs a handler for, and the only names it runs: the agent's
 * {@code [handlers]} section accepts exactly {@link #configNames()}, so a handler name in a
 * resource file always has an event behind it and every event can be given a handler.
 *
 * <p>Every handler's environment has {@code REPL_RESOURCE} and, once the peer is known,
 * {@code REPL_PEER}; the extra variables of each event are listed with it. Only
 * {@link #FENCE_PEER} under resource-and-stonith is waited for (its exit code comes back
 * through {@code onFenceResult}); every other handler runs out of band and its exit code is
 * logged, never acted on.
 */
public enum Hook {
    /** This node became Primary. */
    AFTER_PROMOTE,
    /** This node became Secondary: demoted, deposed by the witness, or a promotion the peer never saw undone. */
    AFTER_DEMOTE,
    /**
     * The handshake found that both nodes wrote independently; extra env {@code REPL_RULE} (the
     * decision rule) and {@code REPL_POLICY} (the after-split-brain policy that applied, or
     * {@code disconnect}, or {@code continued} when an Inconsistent victim of an earlier resolution
     * whose resync was cut off is the victim again). When a policy discarded one side's changes, also {@code REPL_VICTIM}
     * ({@code local} or {@code peer}: whose changes are discarded) and
     * {@code REPL_CHANGED_BLOCKS_LOCAL} / {@code REPL_CHANGED_BLOCKS_PEER} (blocks changed on each
     * side since the split).
     */
    SPLIT_BRAIN,
    /**
     * The peer is to be fenced: under outdate, a Primary lost its peer without a goodbye (fire and
     * forget); under resource-and-stonith, through {@code CoreActions.fencePeer} (exit code decides).
     */
    FENCE_PEER,
    /** A peer this node fenced (by the handler or through the witness) is in sync again. */
    UNFENCE_PEER,
    /** This node starts a resync as its target. */
    BEFORE_RESYNC_TARGET,
    /** This node finished a resync as its target: its disk is UpToDate. */
    AFTER_RESYNC_TARGET,
    /** This node starts a resync as its source. */
    BEFORE_RESYNC_SOURCE,
    /** This node finished a resync as its source: the peer's disk is UpToDate. */
    AFTER_RESYNC_SOURCE,
    /**
     * An online verify run on this node finished and found blocks that differ; extra env
     * {@code REPL_OOS_BLOCKS}, {@code REPL_OOS_BYTES}, {@code REPL_OOS_RANGES} (the first 16 runs
     * as {@code offset+length}, then {@code and N more}), {@code REPL_VERIFY_START},
     * {@code REPL_VERIFY_ALG}.
     */
    OUT_OF_SYNC,
    /** An online verify run on this node finished, clean or not; the same env as {@link #OUT_OF_SYNC}. */
    AFTER_VERIFY,
    /** The local disk failed a write or flush the peer or a resync needed; extra env {@code REPL_DETAIL}. */
    LOCAL_IO_ERROR;

    private static final Set<String> CONFIG_NAMES = Collections.unmodifiableSortedSet(
            Arrays.stream(values()).map(Hook::configName).collect(Collectors.toCollection(TreeSet<String>::new)));

    /** The name in {@code [handlers]} and in {@code CoreActions.runHook}: {@code AFTER_PROMOTE} is {@code after-promote}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Every handler name, sorted. */
    public static Set<String> configNames() {
        return CONFIG_NAMES;
    }
}
