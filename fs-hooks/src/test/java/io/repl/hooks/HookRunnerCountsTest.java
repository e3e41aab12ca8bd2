package io.repl.hooks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HookRunnerCountsTest {

    @Test
    void everyEndedRunCountsAndFailuresCountApart() throws Exception {
        try (HookRunner runner = new HookRunner(2)) {
            runner.run("r0/after-promote", "true", Map.of(), Duration.ofSeconds(10)).get();
            runner.run("r0/after-promote", "exit 3", Map.of(), Duration.ofSeconds(10)).get();
            runner.run("r0/fence-peer", "sleep 5", Map.of(), Duration.ofMillis(200)).get();
            // Counted before the result is handed out.
            Map<String, long[]> ended = runner.endedRuns();
            assertEquals(2, ended.size());
            assertArrayEquals(new long[] {2, 1}, ended.get("r0/after-promote"));
            assertArrayEquals(new long[] {1, 1}, ended.get("r0/fence-peer"), "killed at its deadline: failed");
        }
    }
}
