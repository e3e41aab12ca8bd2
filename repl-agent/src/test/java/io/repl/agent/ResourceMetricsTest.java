package io.repl.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.agent.metrics.ExpositionParser;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A scrape of resources that are down, one of them with a broken file, and of handler runs. */
class ResourceMetricsTest {

    @Test
    void resourcesThatAreDownAndHandlerRunsScrapeToAWellFormedText() {
        Resource broken = new Resource("r1", "alpha", null, null, null);
        broken.configure(null, "/etc/repl/r1.toml: protocol: \"Z\" is not one of A, B, C");
        String text = ResourceMetrics.scrape(List.of(broken),
                Map.of("r0/after-promote", new long[] {3, 1}, "r0/fence-peer", new long[] {1, 0}));
        ExpositionParser.Scrape s = ExpositionParser.parse(text);
        assertEquals(0, s.value("repl_resource_up", "resource", "r1"));
        assertEquals(1, s.value("repl_disk_state", "resource", "r1", "state", "Diskless"));
        assertEquals(0, s.value("repl_disk_state", "resource", "r1", "state", "UpToDate"));
        assertEquals(1, s.value("repl_connection_state", "resource", "r1", "state", "StandAlone"));
        assertEquals(0, s.value("repl_nbd_requests_total", "resource", "r1", "op", "write"));
        assertEquals(18, s.find("repl_nbd_request_duration_seconds_bucket", "resource", "r1", "op", "read").size(),
                "17 bounds and +Inf");
        assertTrue(s.find("repl_peer_sent_bytes_total").isEmpty(), "no peer link while down");
        assertEquals(3, s.value("repl_handler_runs_total", "resource", "r0", "handler", "after-promote"));
        assertEquals(1, s.value("repl_handler_failures_total", "resource", "r0", "handler", "after-promote"));
        assertEquals(0, s.value("repl_handler_failures_total", "resource", "r0", "handler", "fence-peer"));
        assertEquals("histogram", s.types().get("repl_nbd_request_duration_seconds"));
        assertEquals("counter", s.types().get("repl_handler_runs_total"));
    }
}
