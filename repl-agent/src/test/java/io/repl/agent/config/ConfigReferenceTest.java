package io.repl.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Walks README.md's "Configuration reference": the table lists exactly the keys the loader
 * accepts, the loader really reads every key in it, and every test a row names as proof of the
 * key's effect exists (in this module or in a module whose tests are on the test classpath).
 */
class ConfigReferenceTest {
    private static final String SECTION = "### Configuration reference";
    private static final Pattern TEST = Pattern.compile("`([A-Za-z0-9_]+)#([A-Za-z0-9_]+)`");

    /** One row: the key, and the tests it names as {@code {class, method}}. */
    record Row(String key, List<String[]> tests) {}

    private static Path root;
    private static List<Row> rows;

    @TempDir
    Path dir;

    @BeforeAll
    static void readTheTable() throws IOException {
        root = Path.of("").toAbsolutePath();
        while (root != null && !Files.isRegularFile(root.resolve("README.md"))
                || root != null && !Files.readString(root.resolve("README.md")).contains(SECTION)) {
            root = root.getParent();
        }
        if (root == null) {
            fail("no README.md with \"" + SECTION + "\" above " + Path.of("").toAbsolutePath());
        }
        rows = parse(Files.readAllLines(root.resolve("README.md")));
    }

    static List<Row> parse(List<String> lines) {
        List<Row> out = new ArrayList<>();
        int start = lines.indexOf(SECTION);
        assertTrue(start >= 0, "README.md has no line \"" + SECTION + "\"");
        for (int i = start + 1; i < lines.size() && !lines.get(i).startsWith("#"); i++) {
            String line = lines.get(i).strip();
            if (!line.startsWith("| `")) {
                continue;
            }
            String[] cells = line.substring(1, line.length() - 1).split("\\|", -1);
            assertEquals(5, cells.length, "a row is | Key | What it does | Default | Allowed | Proved by |: " + line);
            String key = cells[0].strip().replace("`", "");
            List<String[]> tests = new ArrayList<>();
            Matcher m = TEST.matcher(cells[4]);
            while (m.find()) {
                tests.add(new String[] {m.group(1), m.group(2)});
            }
            out.add(new Row(key, tests));
        }
        return out;
    }

    @Test
    void theTableListsExactlyTheKeysTheLoaderAccepts() {
        List<String> keys = rows.stream().map(Row::key).toList();
        assertEquals(keys.size(), new TreeSet<>(keys).size(), "a key is listed twice: " + keys);
        TreeSet<String> missing = new TreeSet<>(ConfigLoader.acceptedKeys());
        missing.removeAll(keys);
        TreeSet<String> extra = new TreeSet<>(keys);
        extra.removeAll(ConfigLoader.acceptedKeys());
        assertTrue(missing.isEmpty(), "accepted by ConfigLoader but not in README's table: " + missing);
        assertTrue(extra.isEmpty(), "in README's table but not accepted by ConfigLoader: " + extra);
    }

    /**
     * Each key, given a number where every key wants a string, is refused by name for its
     * value, not as unknown: the loader reads it (acceptedKeys() could not hide a key it ignores).
     */
    @Test
    void theLoaderReadsEveryKeyInTheTable() throws Exception {
        ConfigLoader loader = new ConfigLoader();
        for (Row row : rows) {
            Path f = Files.writeString(dir.resolve("r0.toml"), fileWith(row.key(), "12345"));
            ConfigException e = assertThrows(ConfigException.class, () -> loader.load(f), row.key());
            String shown = row.key().replace("node.NAME.", "node.alpha.");
            assertTrue(e.getMessage().contains(shown + ": must be"), row.key() + ": " + e.getMessage());
        }
    }

    /** A valid pair with a witness, with {@code key = value} in its section (replacing a line of that key). */
    private static String fileWith(String key, String value) {
        Map<String, List<String>> sections = new LinkedHashMap<>();
        sections.put("", new ArrayList<>(List.of("protocol = \"C\"")));
        sections.put("net", new ArrayList<>(List.of("shared-secret = \"s\"")));
        sections.put("disk", new ArrayList<>());
        sections.put("handlers", new ArrayList<>());
        sections.put("node.alpha", new ArrayList<>(List.of("address = \"10.0.0.1:7789\"", "disk = \"/dev/sdb\"")));
        sections.put("node.beta", new ArrayList<>(List.of("address = \"10.0.0.2:7789\"", "disk = \"/dev/sdb\"")));
        sections.put("witness", new ArrayList<>(List.of("address = \"10.0.0.3:7790\"")));
        String k = key.replace("node.NAME.", "node.alpha.");
        int dot = k.lastIndexOf('.');
        String section = dot < 0 ? "" : k.substring(0, dot);
        String name = k.substring(dot + 1);
        List<String> lines = sections.get(section);
        assertTrue(lines != null, "no section for " + key);
        lines.removeIf(l -> l.startsWith(name + " = "));
        lines.add(name + " = " + value);
        StringBuilder b = new StringBuilder();
        sections.forEach((s, ls) -> {
            if (!s.isEmpty()) {
                b.append('[').append(s).append("]\n");
            }
            ls.forEach(l -> b.append(l).append('\n'));
        });
        return b.toString();
    }

    @Test
    void everyRowNamesTestsThatExist() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Row row : rows) {
            if (row.tests().isEmpty()) {
                problems.add(row.key() + ": names no test (`Class#method`) proving its effect");
            }
            for (String[] t : row.tests()) {
                String problem = check(t[0], t[1]);
                if (problem != null) {
                    problems.add(row.key() + ": " + t[0] + "#" + t[1] + ": " + problem);
                }
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    /** Null if {@code simpleName#method} is a JUnit test on the test classpath, else what is wrong. */
    private static String check(String simpleName, String method) throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> modules = Files.list(root)) {
            for (Path module : modules.filter(p -> Files.isDirectory(p.resolve("src/test/java"))).toList()) {
                Path tests = module.resolve("src/test/java");
                try (Stream<Path> files = Files.walk(tests)) {
                    files.filter(p -> p.getFileName().toString().equals(simpleName + ".java"))
                            .forEach(p -> found.add(tests.relativize(p).toString().replace('/', '.')
                                    .replaceAll("\\.java$", "")));
                }
            }
        }
        if (found.size() != 1) {
            return found.isEmpty() ? "no such test class in any module" : "ambiguous: " + found;
        }
        Class<?> c;
        try {
            c = Class.forName(found.get(0), false, ConfigReferenceTest.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            return found.get(0) + " is not on repl-agent's test classpath (add its module's test-jar)";
        }
        for (Method m : c.getDeclaredMethods()) {
            if (m.getName().equals(method)) {
                for (Annotation a : m.getAnnotations()) {
                    if (a.annotationType().getName().startsWith("org.junit.jupiter.")
                            && a.annotationType().getSimpleName().contains("Test")) {
                        return null;
                    }
                }
                return "exists but is not a JUnit test";
            }
        }
        return "no such method";
    }

    @Test
    void theWalkerSeesAMissingTest() throws IOException {
        assertEquals("no such method", check("ConfigLoaderTest", "noSuchTest"));
        assertEquals("no such test class in any module", check("NoSuchTestAnywhere", "x"));
        assertFalse(rows.isEmpty());
    }
}
