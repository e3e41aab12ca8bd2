package io.repl.agent.events;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import net.openhft.chronicle.core.time.TimeProvider;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;

/**
 * The agent's event journal: a Chronicle Queue under {@code STATE_DIR/journal}, one JSON
 * {@link Event} per excerpt, read by {@code replctl events}.
 *
 * <p>Never on the write path: {@link #publish} only offers the event to a bounded queue, and
 * one thread of its own appends. When that queue is full (the journal's disk is stuck), events
 * are dropped and counted, and the next one written says how many were lost. Files roll hourly
 * or daily and only the newest {@code keep} cycles are kept. Chronicle does not sync to disk:
 * the journal may lose its last events at a power loss, which costs an operator some history
 * and never a write.
 */
public final class EventJournal implements EventSink, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EventJournal.class.getName());
    /** Events waiting for the journal's thread; beyond this they are dropped (and counted). */
    static final int QUEUED_MAX = 8192;
    /** How often old cycles are looked for. */
    private static final long RETENTION_CHECK_NANOS = TimeUnit.MINUTES.toNanos(1);
    public static final String DIRECTORY = "journal";

    /** How the journal's files roll, and how many are kept. */
    public enum Roll {
        HOURLY(RollCycles.FAST_HOURLY), DAILY(RollCycles.FAST_DAILY);

        final RollCycle cycle;

        Roll(RollCycle cycle) {
            this.cycle = cycle;
        }

        public static Roll parse(String s) {
            return valueOf(s.toUpperCase(Locale.ROOT));
        }
    }

    /** The journal's place and retention: {@code keep} files of one {@code roll} cycle each. */
    public record Settings(Roll roll, int keep) {
        public static final Settings DEFAULTS = new Settings(Roll.DAILY, 7);

        public Settings {
            if (keep < 1) {
                throw new IllegalArgumentException("keep at least one cycle, not " + keep);
            }
        }
    }

    private final Path dir;
    private final Settings settings;
    private final SingleChronicleQueue queue;
    private final BlockingQueue<Event> pending = new ArrayBlockingQueue<>(QUEUED_MAX);
    private final AtomicLong dropped = new AtomicLong();
    private final Thread writer;
    private volatile boolean closing;
    /** The last append failed: logged once, not for every event after it. */
    private boolean failing;

    private EventJournal(Path dir, Settings settings, TimeProvider time) {
        this.dir = dir;
        this.settings = settings;
        SingleChronicleQueueBuilder b = SingleChronicleQueueBuilder.single(dir.toFile()).rollCycle(settings.roll().cycle);
        if (time != null) {
            b.timeProvider(time);
        }
        this.queue = b.build();
        this.writer = new Thread(this::drain, "event-journal");
        writer.setDaemon(true);
    }

    /** Opens (creating) the journal under {@code stateDir} and starts its thread. */
    public static EventJournal open(Path stateDir, Settings settings) throws IOException {
        return open(stateDir, settings, null);
    }

    /** As {@link #open(Path, Settings)}, with the clock Chronicle rolls its files by (tests). */
    static EventJournal open(Path stateDir, Settings settings, TimeProvider time) throws IOException {
        Path dir = stateDir.resolve(DIRECTORY);
        Files.createDirectories(dir);
        EventJournal j = new EventJournal(dir, settings, time);
        j.writer.start();
        LOG.log(System.Logger.Level.INFO, "event journal " + dir + " (rolls " + settings.roll().name()
                .toLowerCase(Locale.ROOT) + ", keeps " + settings.keep() + ")");
        return j;
    }

    public Path dir() {
        return dir;
    }

    @Override
    public void publish(Event e) {
        if (closing || !pending.offer(e)) {
            dropped.incrementAndGet();
        }
    }

    /** Events dropped because the journal's thread fell behind (or it was closing). */
    public long dropped() {
        return dropped.get();
    }

    private void drain() {
        ExcerptAppender appender = queue.createAppender();
        long lastRetention = System.nanoTime() - RETENTION_CHECK_NANOS;
        long droppedSaid = 0;
        List<Event> batch = new ArrayList<>();
        while (true) {
            try {
                Event first = pending.poll(200, TimeUnit.MILLISECONDS);
                if (first != null) {
                    batch.add(first);
                    pending.drainTo(batch, 255);
                }
            } catch (InterruptedException e) {
                closing = true;
            }
            try {
                long lost = dropped.get();
                if (lost != droppedSaid && !closing) {
                    appender.writeText(new Event(batch.isEmpty() ? java.time.Instant.now() : batch.get(0).time(),
                            "change", "journal", "-", Map.of("dropped", Long.toString(lost))).json());
                    droppedSaid = lost;
                }
                for (Event e : batch) {
                    appender.writeText(e.json());
                }
                failing = false;
            } catch (RuntimeException e) {
                // A full or failing disk: the events are lost (and counted), the agent goes on.
                dropped.addAndGet(batch.size());
                if (!failing) {
                    LOG.log(System.Logger.Level.ERROR, "event journal: cannot append to " + dir + ": " + e);
                }
                failing = true;
            }
            batch.clear();
            if (System.nanoTime() - lastRetention >= RETENTION_CHECK_NANOS) {
                lastRetention = System.nanoTime();
                retain();
            }
            if (closing && pending.isEmpty()) {
                return;
            }
        }
    }

    /** Deletes every cycle file but the newest {@code keep}. */
    void retain() {
        List<Path> cycles = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SingleChronicleQueue.SUFFIX)) {
            files.forEach(cycles::add);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "event journal: cannot list " + dir + ": " + e.getMessage());
            return;
        }
        cycles.sort(null);
        for (int i = 0; i < cycles.size() - settings.keep(); i++) {
            try {
                Files.deleteIfExists(cycles.get(i));
                LOG.log(System.Logger.Level.INFO, "event journal: removed " + cycles.get(i).getFileName()
                        + " (keeps the newest " + settings.keep() + ")");
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "event journal: cannot remove " + cycles.get(i) + ": "
                        + e.getMessage());
            }
        }
        queue.refreshDirectoryListing();
    }

    /** Writes what is queued, then closes the queue. */
    @Override
    public void close() {
        // No interrupt: Chronicle treats one during an append as an error; the thread polls.
        closing = true;
        try {
            writer.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        queue.close();
    }
}
