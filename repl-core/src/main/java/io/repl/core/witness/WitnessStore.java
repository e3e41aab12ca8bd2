package io.repl.core.witness;

import java.io.IOException;

/**
 * Where the witness keeps its records. {@link #save} returns only once the record is durable
 * (written and flushed): the witness answers after it, so an answer it gave is never forgotten
 * by a crash.
 */
public interface WitnessStore {
    /** The stored record of {@code resource}, or {@link WitnessRecord#NONE}. */
    WitnessRecord load(String resource) throws IOException;

    void save(String resource, WitnessRecord record) throws IOException;
}
