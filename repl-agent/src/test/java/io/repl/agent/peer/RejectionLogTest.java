package io.repl.agent.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RejectionLogTest {
    private long now;
    private final RejectionLog log = new RejectionLog(TimeUnit.SECONDS.toNanos(60), () -> now);

    @Test
    void logsEachReasonOncePerWindowAndCountsTheRest() {
        assertEquals("", log.admit("header.magic"));
        assertEquals("", log.admit("AUTH_FAILED"), "a different reason is logged too");
        for (int i = 0; i < 1000; i++) {
            assertNull(log.admit("header.magic"));
        }
        now = TimeUnit.SECONDS.toNanos(60);
        assertEquals(" (1000 more like this in the last 60 s were not logged)", log.admit("header.magic"));
        assertEquals("", log.admit("AUTH_FAILED"), "nothing was left out for this one");
    }

    @Test
    void manyDistinctReasonsShareOneSlot() {
        for (int i = 0; i < RejectionLog.REASONS_MAX - 1; i++) {
            assertEquals("", log.admit("reason " + i));
        }
        assertEquals("", log.admit("yet another"));
        assertNull(log.admit("and another"), "past the bound, new reasons are limited together");
    }
}
