package io.repl.agent.ctl;

import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON for replctl without Jackson: requests written, replies read into {@link JsonTree}s, and
 * trees printed as Jackson prints them (compact, or with its default pretty printer), so
 * {@code --json} output is what it was when Jackson wrote it.
 *
 * <p>A cold JVM pays for every class it loads and for the interpreted code around them; a reply
 * of a few hundred bytes needs neither an ObjectMapper (about 800 classes) nor a JsonFactory.
 * The agent keeps Jackson; only the client goes without.
 */
final class ClientJson {
    /** Deeper than any reply the agent sends; a guard against a runaway recursion on bad input. */
    private static final int DEPTH_MAX = 64;
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private ClientJson() {}

    /** {@code value} as JSON: maps, collections, strings, numbers, booleans and null. */
    static String write(Object value) {
        StringBuilder b = new StringBuilder();
        writeValue(b, value);
        return b.toString();
    }

    private static void writeValue(StringBuilder b, Object v) {
        if (v == null) {
            b.append("null");
        } else if (v instanceof Map<?, ?> m) {
            b.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                b.append(first ? "" : ",");
                first = false;
                quote(b, String.valueOf(e.getKey()));
                b.append(':');
                writeValue(b, e.getValue());
            }
            b.append('}');
        } else if (v instanceof Collection<?> c) {
            b.append('[');
            boolean first = true;
            for (Object o : c) {
                b.append(first ? "" : ",");
                first = false;
                writeValue(b, o);
            }
            b.append(']');
        } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short) {
            b.append(v);
        } else if (v instanceof Number n) {
            b.append(n.doubleValue());
        } else {
            quote(b, v.toString());
        }
    }

    /** A JSON string, escaped as Jackson escapes it: control characters, the quote and the backslash. */
    private static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                case '\b': b.append("\\b"); break;
                case '\f': b.append("\\f"); break;
                default:
                    if (c < 0x20) {
                        b.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xF]);
                    } else {
                        b.append(c);
                    }
            }
        }
        b.append('"');
    }

    /** Parses one JSON document into a tree. */
    static JsonTree parse(String text) throws IOException {
        Reader r = new Reader(text);
        r.skipSpace();
        if (r.at >= text.length()) {
            throw new IOException("empty JSON");
        }
        JsonTree t = r.value(0);
        r.skipSpace();
        if (r.at < text.length()) {
            throw new IOException("trailing data after the JSON value at offset " + r.at);
        }
        return t;
    }

    /** A recursive-descent reader over one string. */
    private static final class Reader {
        private final String s;
        private int at;

        Reader(String s) {
            this.s = s;
        }

        void skipSpace() {
            while (at < s.length()) {
                char c = s.charAt(at);
                if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                    return;
                }
                at++;
            }
        }

        private IOException bad(String what) {
            return new IOException("malformed JSON from the agent: " + what + " at offset " + at);
        }

        private char next() throws IOException {
            skipSpace();
            if (at >= s.length()) {
                throw bad("unexpected end");
            }
            return s.charAt(at);
        }

        JsonTree value(int depth) throws IOException {
            if (depth > DEPTH_MAX) {
                throw new IOException("JSON nested deeper than " + DEPTH_MAX);
            }
            char c = next();
            switch (c) {
                case '{': {
                    at++;
                    Map<String, JsonTree> fields = new LinkedHashMap<>();
                    if (next() == '}') {
                        at++;
                        return JsonTree.object(fields);
                    }
                    while (true) {
                        if (next() != '"') {
                            throw bad("expected a field name");
                        }
                        String name = string();
                        if (next() != ':') {
                            throw bad("expected ':'");
                        }
                        at++;
                        fields.put(name, value(depth + 1));
                        char d = next();
                        at++;
                        if (d == '}') {
                            return JsonTree.object(fields);
                        }
                        if (d != ',') {
                            throw bad("expected ',' or '}'");
                        }
                    }
                }
                case '[': {
                    at++;
                    List<JsonTree> elements = new ArrayList<>();
                    if (next() == ']') {
                        at++;
                        return JsonTree.array(elements);
                    }
                    while (true) {
                        elements.add(value(depth + 1));
                        char d = next();
                        at++;
                        if (d == ']') {
                            return JsonTree.array(elements);
                        }
                        if (d != ',') {
                            throw bad("expected ',' or ']'");
                        }
                    }
                }
                case '"':
                    return JsonTree.string(string());
                case 't':
                    word("true");
                    return JsonTree.TRUE;
                case 'f':
                    word("false");
                    return JsonTree.FALSE;
                case 'n':
                    word("null");
                    return JsonTree.NULL;
                default:
                    return number();
            }
        }

        private void word(String w) throws IOException {
            if (!s.startsWith(w, at)) {
                throw bad("unexpected token");
            }
            at += w.length();
        }

        private JsonTree number() throws IOException {
            int start = at;
            boolean decimal = false;
            while (at < s.length()) {
                char c = s.charAt(at);
                if (c == '.' || c == 'e' || c == 'E') {
                    decimal = true;
                } else if (!(c >= '0' && c <= '9' || c == '-' || c == '+')) {
                    break;
                }
                at++;
            }
            String n = s.substring(start, at);
            if (n.isEmpty() || n.startsWith("+") || n.startsWith(".")) {
                throw bad("unexpected character");
            }
            try {
                if (decimal) {
                    return JsonTree.decimal(Double.parseDouble(n));
                }
                if (n.length() < 19) {
                    return JsonTree.integer(Long.parseLong(n));
                }
                BigInteger big = new BigInteger(n);
                return JsonTree.integer(big.bitLength() < 64 ? (Number) big.longValue() : big);
            } catch (NumberFormatException e) {
                throw bad("not a number: " + n);
            }
        }

        /** A string, the reader at its opening quote. */
        private String string() throws IOException {
            at++;
            StringBuilder b = null;
            int from = at;
            while (true) {
                if (at >= s.length()) {
                    throw bad("unterminated string");
                }
                char c = s.charAt(at);
                if (c == '"') {
                    String tail = s.substring(from, at++);
                    return b == null ? tail : b.append(tail).toString();
                }
                if (c != '\\') {
                    at++;
                    continue;
                }
                b = (b == null ? new StringBuilder() : b).append(s, from, at);
                if (at + 1 >= s.length()) {
                    throw bad("unterminated string");
                }
                char e = s.charAt(at + 1);
                at += 2;
                switch (e) {
                    case '"': case '\\': case '/': b.append(e); break;
                    case 'n': b.append('\n'); break;
                    case 'r': b.append('\r'); break;
                    case 't': b.append('\t'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'u':
                        if (at + 4 > s.length()) {
                            throw bad("short \\u escape");
                        }
                        try {
                            b.append((char) Integer.parseInt(s.substring(at, at + 4), 16));
                        } catch (NumberFormatException x) {
                            throw bad("bad \\u escape");
                        }
                        at += 4;
                        break;
                    default:
                        throw bad("bad escape \\" + e);
                }
                from = at;
            }
        }
    }

    /**
     * {@code node} as JSON on one line, or laid out as Jackson's default pretty printer lays it
     * out: a field a line, indented by two spaces, {@code "name" : value}, arrays on one line
     * ({@code [ 1, 2 ]}), empty ones {@code { }} and {@code [ ]}.
     */
    static String print(JsonTree node, boolean indent) {
        StringBuilder b = new StringBuilder();
        printNode(b, node, indent, 0);
        return b.toString();
    }

    private static void printNode(StringBuilder b, JsonTree n, boolean indent, int level) {
        if (n.isObject()) {
            b.append('{');
            if (n.isEmpty()) {
                b.append(indent ? " }" : "}");
                return;
            }
            boolean first = true;
            for (Map.Entry<String, JsonTree> e : n.fields().entrySet()) {
                b.append(first ? "" : ",");
                first = false;
                if (indent) {
                    b.append('\n').append("  ".repeat(level + 1));
                }
                quote(b, e.getKey());
                b.append(indent ? " : " : ":");
                printNode(b, e.getValue(), indent, level + 1);
            }
            if (indent) {
                b.append('\n').append("  ".repeat(level));
            }
            b.append('}');
        } else if (n.isArray()) {
            b.append('[');
            if (n.isEmpty()) {
                b.append(indent ? " ]" : "]");
                return;
            }
            boolean first = true;
            for (JsonTree c : n) {
                b.append(first ? (indent ? " " : "") : (indent ? ", " : ","));
                first = false;
                printNode(b, c, indent, level);
            }
            b.append(indent ? " ]" : "]");
        } else if (n.kind == JsonTree.Kind.STRING) {
            quote(b, n.asText());
        } else if (n.isMissing()) {
            b.append("null");
        } else {
            b.append(n.asText());
        }
    }
}
