package io.repl.agent;

import java.time.Instant;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One line per event on stderr: time, level, message; a stack trace only for real failures. */
final class LogFormat extends Formatter {

    static void install() {
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ConsoleHandler h = new ConsoleHandler();
        h.setFormatter(new LogFormat());
        h.setLevel(Level.ALL);
        root.addHandler(h);
        root.setLevel(Level.INFO);
        // Netty's own chatter is for its developers.
        Logger.getLogger("io.netty").setLevel(Level.WARNING);
    }

    @Override
    public String format(LogRecord r) {
        StringBuilder b = new StringBuilder(160);
        b.append(Instant.ofEpochMilli(r.getMillis())).append(' ').append(level(r.getLevel())).append(' ')
                .append(formatMessage(r)).append('\n');
        if (r.getThrown() != null) {
            java.io.StringWriter w = new java.io.StringWriter();
            r.getThrown().printStackTrace(new java.io.PrintWriter(w));
            b.append(w);
        }
        return b.toString();
    }

    private static String level(Level l) {
        if (l.intValue() >= Level.SEVERE.intValue()) {
            return "ERROR";
        }
        if (l.intValue() >= Level.WARNING.intValue()) {
            return "WARN ";
        }
        return l.intValue() >= Level.INFO.intValue() ? "INFO " : "DEBUG";
    }
}
