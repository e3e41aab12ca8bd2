package io.repl.core.uuid;

import java.util.Objects;

/**
 * A decision of {@link DecisionTable} and the rule that made it.
 *
 * @param decision what to do
 * @param rule why, for logs and for the refusal message an operator sees
 * @param cleanup a stale identifier one side must correct first (the decision and rule are
 *     those of the corrected identifiers)
 */
public record Verdict(SyncDecision decision, DecisionRule rule, Cleanup cleanup) {

    public Verdict {
        Objects.requireNonNull(decision, "decision");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(cleanup, "cleanup");
    }

    /** A verdict that needs no correction first. */
    public Verdict(SyncDecision decision, DecisionRule rule) {
        this(decision, rule, Cleanup.NONE);
    }

    /** The verdict the peer reaches from the same two views. */
    public Verdict mirror() {
        return new Verdict(decision.mirror(), rule.mirror(), cleanup.mirror());
    }

    /** This verdict, reached after {@code first} corrected one side's identifiers. */
    Verdict after(Cleanup first) {
        return new Verdict(decision, rule, first);
    }

    @Override
    public String toString() {
        return decision + " (" + rule.label() + (cleanup == Cleanup.NONE ? "" : ", after " + cleanup.label()) + ")";
    }
}
