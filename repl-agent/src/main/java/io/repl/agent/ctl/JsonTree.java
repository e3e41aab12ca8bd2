package io.repl.agent.ctl;

import java.math.BigInteger;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A JSON value as replctl reads the agent's replies: an object, an array, a string, a number, a
 * boolean, null, or missing (what {@link #path} gives for a field or element that is not there).
 * The accessors answer as Jackson's {@code JsonNode} of the same name does, so the client needs
 * no Jackson databind (its classes are a good part of a cold start) to read a reply.
 */
final class JsonTree implements Iterable<JsonTree> {
    enum Kind { OBJECT, ARRAY, STRING, INTEGER, DECIMAL, BOOLEAN, NULL, MISSING }

    static final JsonTree NULL = new JsonTree(Kind.NULL, null);
    static final JsonTree MISSING = new JsonTree(Kind.MISSING, null);
    static final JsonTree TRUE = new JsonTree(Kind.BOOLEAN, Boolean.TRUE);
    static final JsonTree FALSE = new JsonTree(Kind.BOOLEAN, Boolean.FALSE);

    final Kind kind;
    /**
     * A {@code Map<String, JsonTree>} (in document order), a {@code List<JsonTree>}, a String, a
     * Long or BigInteger, a Double, a Boolean, or null.
     */
    private final Object value;

    private JsonTree(Kind kind, Object value) {
        this.kind = kind;
        this.value = value;
    }

    static JsonTree object(Map<String, JsonTree> fields) {
        return new JsonTree(Kind.OBJECT, fields);
    }

    static JsonTree array(List<JsonTree> elements) {
        return new JsonTree(Kind.ARRAY, elements);
    }

    static JsonTree string(String s) {
        return new JsonTree(Kind.STRING, s);
    }

    /** An integer: a Long, or a BigInteger where it does not fit one. */
    static JsonTree integer(Number n) {
        return new JsonTree(Kind.INTEGER, n);
    }

    static JsonTree decimal(double d) {
        return new JsonTree(Kind.DECIMAL, d);
    }

    @SuppressWarnings("unchecked")
    Map<String, JsonTree> fields() {
        return kind == Kind.OBJECT ? (Map<String, JsonTree>) value : Collections.emptyMap();
    }

    @SuppressWarnings("unchecked")
    private List<JsonTree> elements() {
        return kind == Kind.ARRAY ? (List<JsonTree>) value : Collections.emptyList();
    }

    /** The field {@code name}, or MISSING. */
    JsonTree path(String name) {
        JsonTree v = fields().get(name);
        return v == null ? MISSING : v;
    }

    /** Element {@code i} of an array, or MISSING. */
    JsonTree path(int i) {
        List<JsonTree> e = elements();
        return i >= 0 && i < e.size() ? e.get(i) : MISSING;
    }

    boolean has(String name) {
        return fields().containsKey(name);
    }

    boolean hasNonNull(String name) {
        JsonTree v = fields().get(name);
        return v != null && v.kind != Kind.NULL;
    }

    boolean isObject() {
        return kind == Kind.OBJECT;
    }

    boolean isArray() {
        return kind == Kind.ARRAY;
    }

    boolean isNull() {
        return kind == Kind.NULL;
    }

    boolean isMissing() {
        return kind == Kind.MISSING;
    }

    /** The number of fields or elements; 0 for anything else. */
    int size() {
        return kind == Kind.OBJECT ? fields().size() : elements().size();
    }

    boolean isEmpty() {
        return size() == 0;
    }

    /** The values of an object's fields or an array's elements; nothing for anything else. */
    @Override
    public Iterator<JsonTree> iterator() {
        return kind == Kind.OBJECT ? fields().values().iterator() : elements().iterator();
    }

    /** A string as it is; a number or boolean spelled out; "null" for null; "" otherwise. */
    String asText() {
        switch (kind) {
            case STRING:
                return (String) value;
            case INTEGER:
            case DECIMAL:
            case BOOLEAN:
                return value.toString();
            case NULL:
                return "null";
            default:
                return "";
        }
    }

    /** As {@link #asText()}, but {@code otherwise} for null and missing. */
    String asText(String otherwise) {
        return kind == Kind.NULL || kind == Kind.MISSING ? otherwise : asText();
    }

    long asLong() {
        return asLong(0);
    }

    /**
     * A number (a decimal cut to an integer), a boolean as 1 or 0, a string that holds a
     * number; anything else is {@code otherwise}.
     */
    long asLong(long otherwise) {
        switch (kind) {
            case INTEGER:
            case DECIMAL:
                return ((Number) value).longValue();
            case BOOLEAN:
                return (Boolean) value ? 1 : 0;
            case STRING:
                return parseLong((String) value, otherwise);
            default:
                return otherwise;
        }
    }

    int asInt() {
        return asInt(0);
    }

    /** As {@link #asLong(long)}, for an int. */
    int asInt(int otherwise) {
        switch (kind) {
            case INTEGER:
            case DECIMAL:
                return ((Number) value).intValue();
            case STRING:
                long l = parseLong((String) value, otherwise);
                return l == (int) l ? (int) l : otherwise;
            default:
                return (int) asLong(otherwise);
        }
    }

    double asDouble() {
        switch (kind) {
            case INTEGER:
            case DECIMAL:
                return ((Number) value).doubleValue();
            case BOOLEAN:
                return (Boolean) value ? 1 : 0;
            case STRING:
                try {
                    return Double.parseDouble(((String) value).trim());
                } catch (NumberFormatException e) {
                    return 0;
                }
            default:
                return 0;
        }
    }

    /** A boolean; a non-zero integer; a string "true" or "false"; anything else {@code otherwise}. */
    boolean asBoolean(boolean otherwise) {
        switch (kind) {
            case BOOLEAN:
                return (Boolean) value;
            case INTEGER:
                return ((Number) value).longValue() != 0;
            case STRING:
                String s = ((String) value).trim();
                return "true".equals(s) || (!"false".equals(s) && otherwise);
            default:
                return otherwise;
        }
    }

    /** A string, a number or a boolean as its Java value (String, Long, BigInteger, Double, Boolean). */
    Object scalar() {
        return kind == Kind.OBJECT || kind == Kind.ARRAY ? null : value;
    }

    boolean isBigInteger() {
        return value instanceof BigInteger;
    }

    private static long parseLong(String s, long otherwise) {
        String t = s.trim();
        try {
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            try {
                return (long) Double.parseDouble(t);
            } catch (NumberFormatException e2) {
                return otherwise;
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof JsonTree t && t.kind == kind && java.util.Objects.equals(t.value, value);
    }

    @Override
    public int hashCode() {
        return kind.hashCode() * 31 + java.util.Objects.hashCode(value);
    }

    @Override
    public String toString() {
        return ClientJson.print(this, false);
    }
}
