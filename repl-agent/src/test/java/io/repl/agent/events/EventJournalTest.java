package io.repl.agent.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import net.openhft.chronicle.core.time.SetTimeProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EventJournalTest {
    @TempDir
    Path dir;

    private static Event event(int i) {
        return new Event(Instant.parse("2026-12-02T05:50:01.123Z").plusSeconds(i), "change", "resource", "r0",
                Map.of("role", i % 2 == 0 ? "Primary" : "Secondary"));
    }

    @Test
    void anEventReadsBackAsWrittenInTheEvents2Manner() {
        Event e = new Event(Instant.parse("2026-12-02T05:50:01.123Z"), "response", "helper", "r0",
                new java.util.LinkedHashMap<>(Map.of("helper", "before-promote")));
        assertEquals("2026-12-02T05:50:01.123Z response helper name:r0 helper:before-promote", e.text());
        Event withSpaces = new Event(e.time(), "response", "helper", "r0", Map.of("output", "no way\nnot now"));
        assertEquals("2026-12-02T05:50:01.123Z response helper name:r0 output:\"no way\\nnot now\"", withSpaces.text());
        assertEquals(withSpaces, Event.parse(withSpaces.json()));
    }

    @Test
    void whatIsPublishedIsReadInOrderAndAReaderFromTheEndSeesOnlyNewEvents() throws Exception {
        try (EventJournal j = EventJournal.open(dir, EventJournal.Settings.DEFAULTS)) {
            for (int i = 0; i < 100; i++) {
                j.publish(event(i));
            }
            List<Event> seen = readUntil(100, EventReader.open(dir).fromStart(), null);
            for (int i = 0; i < 100; i++) {
                assertEquals(event(i), seen.get(i));
            }
            try (EventReader tail = EventReader.open(dir).fromEnd()) {
                j.publish(event(1000));
                assertEquals(List.of(event(1000)), readUntil(1, tail, null));
            }
            List<Event> since = readUntil(2, EventReader.open(dir).fromStart(), event(99).time());
            assertEquals(List.of(event(99), event(1000)), since);
        }
    }

    @Test
    void onlyTheNewestCyclesAreKept() throws Exception {
        SetTimeProvider clock = new SetTimeProvider(Instant.parse("2026-12-02T00:00:00Z").toEpochMilli()
                * 1_000_000L).autoIncrement(0, TimeUnit.NANOSECONDS);
        try (EventJournal j = EventJournal.open(dir, new EventJournal.Settings(EventJournal.Roll.HOURLY, 2), clock)) {
            for (int hour = 0; hour < 5; hour++) {
                j.publish(event(hour));
                // Written (on the journal's thread) before the clock moves on to the next hour.
                readUntil(1, EventReader.open(dir).fromStart(), event(hour).time());
                clock.advanceMillis(TimeUnit.HOURS.toMillis(1));
            }
            j.retain();
            try (Stream<Path> files = Files.list(dir.resolve(EventJournal.DIRECTORY))) {
                assertEquals(2, files.filter(f -> f.toString().endsWith(".cq4")).count());
            }
            assertEquals(List.of(event(3), event(4)), readUntil(2, EventReader.open(dir).fromStart(), null));
        }
    }

    /** Reads until {@code n} events came (the journal writes on its own thread), 10 s at most. */
    static List<Event> readUntil(int n, EventReader r, Instant since) throws InterruptedException {
        List<Event> out = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try (r) {
            while (out.size() < n && System.nanoTime() - deadline < 0) {
                if (r.read(since, e -> true, out::add) == 0) {
                    Thread.sleep(20);
                }
            }
        }
        assertTrue(out.size() >= n, "read " + out);
        return out;
    }
}
