package io.repl.agent.events;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.function.Consumer;
import java.util.function.Predicate;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;

/**
 * Reads the agent's journal directly ({@code replctl events}): the agent is never asked, so a
 * watcher costs it nothing, and the history is there while the agent is down.
 */
public final class EventReader implements AutoCloseable {
    private final SingleChronicleQueue queue;
    private final ExcerptTailer tailer;

    private EventReader(SingleChronicleQueue queue) {
        this.queue = queue;
        this.tailer = queue.createTailer();
    }

    /**
     * Opens the journal under {@code stateDir}.
     *
     * @throws IllegalStateException naming the directory when there is no journal there
     */
    public static EventReader open(Path stateDir) {
        Path dir = stateDir.resolve(EventJournal.DIRECTORY);
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("no event journal in " + dir + " (the agent writes it under its "
                    + "--state-dir; give the same --state-dir here)");
        }
        return new EventReader(SingleChronicleQueueBuilder.single(dir.toFile()).readOnly(true).build());
    }

    /** From the oldest event kept, so that {@link #read} replays what the journal holds. */
    public EventReader fromStart() {
        tailer.toStart();
        return this;
    }

    /** From now on: only events written after this call. */
    public EventReader fromEnd() {
        tailer.toEnd();
        return this;
    }

    /**
     * Hands every event not yet read that passes {@code filter} and is not older than
     * {@code since} (null: any) to {@code out}; returns how many entries it read.
     */
    public int read(Instant since, Predicate<Event> filter, Consumer<Event> out) {
        int n = 0;
        String json;
        while ((json = tailer.readText()) != null) {
            n++;
            Event e;
            try {
                e = Event.parse(json);
            } catch (IllegalArgumentException | java.time.format.DateTimeParseException bad) {
                continue;
            }
            if ((since == null || !e.time().isBefore(since)) && filter.test(e)) {
                out.accept(e);
            }
        }
        return n;
    }

    @Override
    public void close() {
        queue.close();
    }
}
