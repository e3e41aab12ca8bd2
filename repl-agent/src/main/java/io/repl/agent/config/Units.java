package io.repl.agent.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the config's durations ({@code "5s"}) and sizes ({@code "64M"}). */
public final class Units {
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
    private static final Pattern SIZE = Pattern.compile("(\\d{1,15})([KMGT]?)(i?B)?");

    private Units() {}

    /**
     * A duration written as a whole number and a unit: {@code ms}, {@code s}, {@code m}, {@code h}.
     *
     * @return null if {@code text} is not of that form
     */
    public static Duration parseDuration(String text) {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            return null;
        }
        long n = Long.parseLong(m.group(1));
        switch (m.group(2)) {
            case "ms": return Duration.ofMillis(n);
            case "s": return Duration.ofSeconds(n);
            case "m": return Duration.ofMinutes(n);
            default: return Duration.ofHours(n);
        }
    }

    /**
     * A size in bytes: a whole number with an optional binary unit {@code K}, {@code M},
     * {@code G}, {@code T} (powers of 1024), optionally followed by {@code B} or {@code iB}.
     *
     * @return -1 if {@code text} is not of that form or overflows
     */
    public static long parseSize(String text) {
        Matcher m = SIZE.matcher(text.trim().toUpperCase(Locale.ROOT).replace("IB", "iB"));
        if (!m.matches()) {
            return -1;
        }
        long n = Long.parseLong(m.group(1));
        int shift;
        switch (m.group(2)) {
            case "K": shift = 10; break;
            case "M": shift = 20; break;
            case "G": shift = 30; break;
            case "T": shift = 40; break;
            default: shift = 0;
        }
        if (n > (Long.MAX_VALUE >> shift)) {
            return -1;
        }
        return n << shift;
    }

    /** The shortest exact binary spelling of a size, for messages: 1048576 gives "1M". */
    public static String formatSize(long bytes) {
        String[] units = {"", "K", "M", "G", "T"};
        int i = 0;
        long v = bytes;
        while (i < units.length - 1 && v != 0 && v % 1024 == 0) {
            v /= 1024;
            i++;
        }
        return v + units[i];
    }
}
