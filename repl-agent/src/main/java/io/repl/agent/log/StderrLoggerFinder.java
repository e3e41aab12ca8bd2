package io.repl.agent.log;

import java.io.PrintStream;
import java.text.MessageFormat;
import java.time.Instant;
import java.util.Locale;
import java.util.ResourceBundle;

/**
 * Where every {@link System.Logger} of the agent writes: one line per event on stderr (the
 * journal under systemd), time, level, message. It is not java.util.logging because that
 * closes its handlers in a shutdown hook of its own, and the lines an operator most needs
 * (flushing, releasing disks at stop) are written from another shutdown hook.
 *
 * <p>The threshold is INFO; {@code -Drepl.log.level=DEBUG} (or WARNING, ERROR) changes it.
 */
public final class StderrLoggerFinder extends System.LoggerFinder {
    private static final System.Logger.Level THRESHOLD = threshold();

    private static System.Logger.Level threshold() {
        String s = System.getProperty("repl.log.level", "INFO").toUpperCase(Locale.ROOT);
        try {
            return System.Logger.Level.valueOf(s);
        } catch (IllegalArgumentException e) {
            return System.Logger.Level.INFO;
        }
    }

    @Override
    public System.Logger getLogger(String name, Module module) {
        return new Line(name);
    }

    /** A logger that formats one line and prints it whole. */
    private static final class Line implements System.Logger {
        private final String name;

        Line(String name) {
            this.name = name;
        }

        @Override
        public String getName() {
            return name;
        }

        @Override
        public boolean isLoggable(Level level) {
            return level != Level.OFF && level.getSeverity() >= THRESHOLD.getSeverity();
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            if (!isLoggable(level)) {
                return;
            }
            StringBuilder b = new StringBuilder(160).append(Instant.now()).append(' ').append(tag(level)).append(' ')
                    .append(msg);
            PrintStream err = System.err;
            synchronized (err) {
                err.println(b);
                if (thrown != null) {
                    thrown.printStackTrace(err);
                }
            }
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            if (isLoggable(level)) {
                log(level, bundle, params == null || params.length == 0 ? format
                        : MessageFormat.format(format, params), (Throwable) null);
            }
        }

        private static String tag(Level l) {
            switch (l) {
                case ERROR: return "ERROR";
                case WARNING: return "WARN ";
                case INFO: return "INFO ";
                default: return "DEBUG";
            }
        }
    }
}
