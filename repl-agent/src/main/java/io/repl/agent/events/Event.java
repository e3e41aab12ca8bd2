package io.repl.agent.events;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One entry of the event journal, in the manner of {@code drbdsetup events2}: a verb
 * ({@code exists}, {@code change}, {@code call}, {@code response}), the kind of object it is
 * about ({@code resource}, {@code device}, {@code connection}, {@code peer-device},
 * {@code helper}, {@code command}), the resource, and {@code key:value} fields in a fixed order.
 *
 * @param fields in the order they are printed; values are printed as they are unless they hold
 *     a space, a quote or a line break, which are quoted as a JSON string
 */
public record Event(Instant time, String verb, String object, String resource, Map<String, String> fields) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public Event {
        // Milliseconds, as events2 prints them: finer would only suggest a precision the clock lacks.
        time = time.truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        fields = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }

    /** {@code 2026-12-02T05:50:01.123Z change resource name:r0 role:Primary}. */
    public String text() {
        StringBuilder b = new StringBuilder(time.toString()).append(' ').append(verb).append(' ').append(object)
                .append(" name:").append(resource);
        fields.forEach((k, v) -> b.append(' ').append(k).append(':').append(quoted(v)));
        return b.toString();
    }

    /** One JSON object: {@code time}, {@code verb}, {@code object}, {@code name}, then the fields. */
    public String json() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("time", time.toString());
        m.put("verb", verb);
        m.put("object", object);
        m.put("name", resource);
        m.putAll(fields);
        try {
            return JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings always encodes", e);
        }
    }

    /** Reads what {@link #json()} wrote. */
    public static Event parse(String json) {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a journal entry: " + e.getOriginalMessage());
        }
        Map<String, String> fields = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = n.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String k = e.getKey();
            if (!k.equals("time") && !k.equals("verb") && !k.equals("object") && !k.equals("name")) {
                fields.put(k, e.getValue().asText());
            }
        }
        return new Event(Instant.parse(n.path("time").asText()), n.path("verb").asText(), n.path("object").asText(),
                n.path("name").asText(), fields);
    }

    static String quoted(String v) {
        if (v.isEmpty() || v.chars().anyMatch(c -> c == ' ' || c == '"' || c == '\n' || c == '\t' || c == '\\')) {
            try {
                return JSON.writeValueAsString(v);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("a string always encodes", e);
            }
        }
        return v;
    }
}
