package io.repl.core.witness;

import java.util.ArrayList;
import java.util.List;

/**
 * What the witness keeps per resource: the newest generation it knows of, which nodes hold
 * every write acknowledged in it, and the generations before it. Immutable; every change
 * makes a new record, which the witness stores durably before it answers.
 *
 * @param generation the newest generation, 0 for no record yet
 * @param holders node ids holding it, one bit each
 * @param ancestry older generations this record descended from, newest first, at most
 *     {@link #ANCESTRY_MAX}: a report of one of them is a late report, never news
 * @param forced the last change was an operator's --force, not a decision of the witness
 */
public record WitnessRecord(long generation, int holders, List<Long> ancestry, boolean forced) {
    public static final int ANCESTRY_MAX = 8;
    /** No record: the witness has not heard both nodes report yet. */
    public static final WitnessRecord NONE = new WitnessRecord(0, 0, List.of(), false);

    public WitnessRecord {
        ancestry = List.copyOf(ancestry);
        if (ancestry.size() > ANCESTRY_MAX || ancestry.contains(0L) || generation != 0 && ancestry.contains(generation)) {
            throw new IllegalArgumentException("bad ancestry " + ancestry + " for generation " + generation);
        }
        if (holders < 0 || holders > 0xFFFF || (generation == 0) != (holders == 0)) {
            throw new IllegalArgumentException("holders " + holders + " for generation " + generation);
        }
    }

    public boolean empty() {
        return generation == 0;
    }

    public boolean holds(int nodeId) {
        return (holders & (1 << nodeId)) != 0;
    }

    /** Whether {@code uuid} is this record's generation or one before it. */
    public boolean knows(long uuid) {
        return uuid != 0 && (uuid == generation || ancestry.contains(uuid));
    }

    /** The record after moving to {@code next}, held by {@code nextHolders}. */
    public WitnessRecord movedTo(long next, int nextHolders, boolean byForce) {
        List<Long> older = new ArrayList<>();
        if (generation != 0 && generation != next) {
            older.add(generation);
        }
        for (long a : ancestry) {
            if (older.size() < ANCESTRY_MAX && a != next && !older.contains(a)) {
                older.add(a);
            }
        }
        return new WitnessRecord(next, nextHolders, older, byForce);
    }
}
