package io.repl.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class UnitsTest {
    @Test
    void durations() {
        assertEquals(Duration.ofMillis(250), Units.parseDuration("250ms"));
        assertEquals(Duration.ofSeconds(5), Units.parseDuration("5s"));
        assertEquals(Duration.ofMinutes(2), Units.parseDuration("2m"));
        assertEquals(Duration.ofHours(1), Units.parseDuration("1h"));
        assertNull(Units.parseDuration("5"));
        assertNull(Units.parseDuration("-5s"));
        assertNull(Units.parseDuration("1.5s"));
        assertNull(Units.parseDuration("s"));
    }

    @Test
    void sizes() {
        assertEquals(4096, Units.parseSize("4096"));
        assertEquals(64L << 10, Units.parseSize("64K"));
        assertEquals(64L << 20, Units.parseSize("64M"));
        assertEquals(10L << 30, Units.parseSize("10G"));
        assertEquals(2L << 40, Units.parseSize("2T"));
        assertEquals(1L << 30, Units.parseSize("1GiB"));
        assertEquals(1L << 20, Units.parseSize("1m"));
        assertEquals(-1, Units.parseSize("1.5G"));
        assertEquals(-1, Units.parseSize("-1"));
        assertEquals(-1, Units.parseSize("99999999999999T"), "overflow is refused, not wrapped");
        assertEquals("64M", Units.formatSize(64L << 20));
        assertEquals("4100", Units.formatSize(4100));
    }
}
