package io.repl.core.uuid;

import java.util.Objects;

/**
 * A decision of {@link DecisionTable} and the rule that made it.
 *
 * @param decision what to do
 * @param rule why, for logs and for the refusal message an operator sees
 */
public record Verdict(SyncDecision decision, DecisionRule rule) {

    public Verdict {
        Objects.requireNonNull(decision, "decision");
        Objects.requireNonNull(rule, "rule");
    }

    /** The verdict the peer reaches from the same two views. */
    public Verdict mirror() {
        return new Verdict(decision.mirror(), rule.mirror());
    }

    @Override
    public String toString() {
        return decision + " (" + rule.label() + ")";
    }
}
