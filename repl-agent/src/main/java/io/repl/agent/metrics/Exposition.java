package io.repl.agent.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds a scrape in the Prometheus text exposition format (version 0.0.4): per metric
 * family one {@code # HELP} and one {@code # TYPE} line, then its samples, each
 * {@code name{label="value",...} number}. Families may be declared while samples are added in
 * any order; {@link #text()} groups them, as the format requires.
 */
public final class Exposition {
    /** The Content-Type of the text format. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /** The metric types used here. */
    public enum Type {
        COUNTER, GAUGE, HISTOGRAM;

        String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private record Family(String help, Type type, StringBuilder samples) {
    }

    private final Map<String, Family> families = new LinkedHashMap<>();

    /** Declares a family; declaring it again with the same type is harmless. */
    public Exposition family(String name, Type type, String help) {
        checkName(name);
        Family f = families.get(name);
        if (f == null) {
            families.put(name, new Family(help, type, new StringBuilder()));
        } else if (f.type != type) {
            throw new IllegalArgumentException(name + " declared as " + f.type + " and as " + type);
        }
        return this;
    }

    /** One sample of family {@code family}: its own name, or the family's name plus _bucket, _sum, _count. */
    public Exposition sample(String family, String suffix, double value, String... labels) {
        Family f = families.get(family);
        if (f == null) {
            throw new IllegalArgumentException("family " + family + " not declared");
        }
        if (labels.length % 2 != 0) {
            throw new IllegalArgumentException("labels come in name, value pairs");
        }
        StringBuilder b = f.samples;
        b.append(family).append(suffix);
        if (labels.length > 0) {
            b.append('{');
            for (int i = 0; i < labels.length; i += 2) {
                if (i > 0) {
                    b.append(',');
                }
                checkName(labels[i]);
                b.append(labels[i]).append("=\"");
                escape(b, labels[i + 1], true);
                b.append('"');
            }
            b.append('}');
        }
        b.append(' ').append(number(value)).append('\n');
        return this;
    }

    /** A sample named as its family. */
    public Exposition sample(String family, double value, String... labels) {
        return sample(family, "", value, labels);
    }

    /** The whole scrape; families without samples are left out. */
    public String text() {
        StringBuilder out = new StringBuilder();
        families.forEach((name, f) -> {
            if (f.samples.length() == 0) {
                return;
            }
            out.append("# HELP ").append(name).append(' ');
            escape(out, f.help, false);
            out.append('\n').append("# TYPE ").append(name).append(' ').append(f.type.word()).append('\n');
            out.append(f.samples);
        });
        return out.toString();
    }

    /** Integers print without a fraction; +Inf, -Inf and NaN as the format spells them. */
    static String number(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+Inf" : "-Inf";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return Double.toString(v);
    }

    /** The bound of a histogram bucket as its {@code le} label. */
    public static String le(double bound) {
        return Double.isInfinite(bound) ? "+Inf" : Double.toString(bound);
    }

    private static void escape(StringBuilder b, String s, boolean quotes) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '"' -> b.append(quotes ? "\\\"" : "\"");
                default -> b.append(c);
            }
        }
    }

    private static void checkName(String name) {
        if (!name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*")) {
            throw new IllegalArgumentException("not a metric or label name: " + name);
        }
    }
}
