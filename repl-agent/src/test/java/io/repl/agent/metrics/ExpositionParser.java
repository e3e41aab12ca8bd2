package io.repl.agent.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the Prometheus text format back, strictly: every sample must follow the HELP and TYPE
 * lines of its family, names and labels must be well formed, values numbers. Tests use it to
 * check a scrape and to look values up.
 */
public final class ExpositionParser {
    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** One sample: its full name, labels and value. */
    public record Sample(String name, Map<String, String> labels, double value) {
    }

    /** A parsed scrape: families by name with their type, and every sample in order. */
    public record Scrape(Map<String, String> types, List<Sample> samples) {
        /** The one sample named {@code name} with at least these labels; fails if none or several. */
        public double value(String name, String... labels) {
            List<Sample> found = find(name, labels);
            if (found.size() != 1) {
                throw new AssertionError(found.size() + " samples " + name + " " + List.of(labels) + ": " + found);
            }
            return found.get(0).value();
        }

        public List<Sample> find(String name, String... labels) {
            List<Sample> out = new ArrayList<>();
            for (Sample s : samples) {
                if (!s.name().equals(name)) {
                    continue;
                }
                boolean all = true;
                for (int i = 0; i < labels.length; i += 2) {
                    all &= labels[i + 1].equals(s.labels().get(labels[i]));
                }
                if (all) {
                    out.add(s);
                }
            }
            return out;
        }
    }

    private ExpositionParser() {
    }

    public static Scrape parse(String text) {
        Map<String, String> types = new LinkedHashMap<>();
        List<Sample> samples = new ArrayList<>();
        String helped = null;
        String current = null;
        for (String line : text.split("\n", -1)) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("# HELP ")) {
                helped = line.substring(7).split(" ", 2)[0];
                continue;
            }
            if (line.startsWith("# TYPE ")) {
                String[] p = line.substring(7).split(" ");
                if (p.length != 2 || !p[0].equals(helped) || !p[1].matches("counter|gauge|histogram|summary|untyped")) {
                    throw new AssertionError("bad TYPE line (after HELP of " + helped + "): " + line);
                }
                if (types.put(p[0], p[1]) != null) {
                    throw new AssertionError("family declared twice: " + p[0]);
                }
                current = p[0];
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) {
                throw new AssertionError("not a sample line: " + line);
            }
            String name = m.group(1);
            String family = familyOf(name, types);
            if (current == null || !current.equals(family)) {
                throw new AssertionError("sample " + name + " outside its family's block (now in " + current + ")");
            }
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(3) != null && !m.group(3).isEmpty()) {
                Matcher l = LABEL.matcher(m.group(3));
                int end = 0;
                while (l.find()) {
                    if (l.start() != end) {
                        throw new AssertionError("bad labels: " + m.group(3));
                    }
                    labels.put(l.group(1), l.group(2));
                    end = l.end() < m.group(3).length() && m.group(3).charAt(l.end()) == ',' ? l.end() + 1 : l.end();
                }
                if (end != m.group(3).length()) {
                    throw new AssertionError("bad labels: " + m.group(3));
                }
            }
            double v = switch (m.group(4)) {
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                case "NaN" -> Double.NaN;
                default -> Double.parseDouble(m.group(4));
            };
            samples.add(new Sample(name, labels, v));
        }
        return new Scrape(types, samples);
    }

    private static String familyOf(String name, Map<String, String> types) {
        if (types.containsKey(name)) {
            return name;
        }
        for (String suffix : new String[] {"_bucket", "_sum", "_count"}) {
            if (name.endsWith(suffix)) {
                String f = name.substring(0, name.length() - suffix.length());
                if ("histogram".equals(types.get(f))) {
                    return f;
                }
            }
        }
        throw new AssertionError("sample " + name + " of no declared family");
    }
}
