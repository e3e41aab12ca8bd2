package io.repl.agent.testing;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Passes a stream through and keeps each line, so tests can assert on what the agent logged. */
public final class LogCapture extends OutputStream {
    public final List<String> lines = new CopyOnWriteArrayList<>();
    private final PrintStream original;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    public LogCapture(PrintStream original) {
        this.original = original;
    }

    @Override
    public synchronized void write(int b) {
        original.write(b);
        if (b == '\n') {
            lines.add(line.toString(StandardCharsets.UTF_8));
            line.reset();
        } else {
            line.write(b);
        }
    }

    @Override
    public void flush() {
        original.flush();
    }
}
