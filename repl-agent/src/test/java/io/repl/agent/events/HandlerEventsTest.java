package io.repl.agent.events;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.repl.hooks.HookResult;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HandlerEventsTest {
    private final List<Event> seen = new ArrayList<>();
    private final HandlerEvents journal = new HandlerEvents(seen::add,
            Clock.fixed(Instant.parse("2026-12-02T05:50:01.123Z"), ZoneOffset.UTC));

    @Test
    void aSplitBrainHandlerRunIsJournaledWithTheRuleThePolicyAndHowItEnded() {
        journal.started("r0/split-brain", "/usr/local/sbin/sb", Map.of("REPL_RESOURCE", "r0", "REPL_NODE", "alpha",
                "REPL_RULE", "both-changed", "REPL_POLICY", "disconnect"));
        journal.finished(new HookResult("r0/split-brain", 0, false, "mailed the admins", null));
        assertEquals(List.of(
                "2026-12-02T05:50:01.123Z call helper name:r0 helper:split-brain command:/usr/local/sbin/sb node:alpha "
                        + "policy:disconnect rule:both-changed",
                "2026-12-02T05:50:01.123Z response helper name:r0 helper:split-brain status:0 "
                        + "output:\"mailed the admins\""),
                seen.stream().map(Event::text).toList());
    }

    @Test
    void anEventWithoutAHandlerAndAHandlerThatTimedOutOrNeverStartedSaySo() {
        journal.unhandled("r0/fence-peer", Map.of("REPL_PEER", "beta"));
        journal.finished(new HookResult("r0/before-promote", -1, true, "still waiting", null));
        journal.finished(new HookResult("r0/mount", -1, false, "", "No such file or directory"));
        assertEquals(List.of(
                "2026-12-02T05:50:01.123Z call helper name:r0 helper:fence-peer handler:none peer:beta",
                "2026-12-02T05:50:01.123Z response helper name:r0 helper:before-promote status:timed-out "
                        + "output:\"still waiting\"",
                "2026-12-02T05:50:01.123Z response helper name:r0 helper:mount status:not-started "
                        + "error:\"No such file or directory\""),
                seen.stream().map(Event::text).toList());
    }
}
