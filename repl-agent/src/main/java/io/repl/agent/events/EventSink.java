package io.repl.agent.events;

/** Where events go: the journal, or nowhere. Never blocks and never throws. */
public interface EventSink {
    EventSink NONE = e -> { };

    void publish(Event e);
}
