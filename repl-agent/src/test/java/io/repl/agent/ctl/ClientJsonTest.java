package io.repl.agent.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** replctl's own JSON reads, answers and writes as Jackson does. */
class ClientJsonTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String REPLY = "{\"exit\":0,\"result\":{\"resources\":[{\"name\":\"r0\",\"role\":\"Primary\","
            + "\"sizeBytes\":68719476736,\"big\":123456789012345678901234567890,\"rate\":12.5,\"up\":true,"
            + "\"error\":null,\"peers\":[],\"none\":{},\"traffic\":{\"bytesOut\":0,\"list\":[1,{\"a\":[]},-2.0E-7]},"
            + "\"text\":\"a \\\"quoted\\\" \\u00e9 line\\n\\u0001\\/\"}]}}";

    @Test
    void aReplyPrintsExactlyAsJacksonPrintsItsTree() throws IOException {
        JsonNode theirs = MAPPER.readTree(REPLY);
        JsonTree mine = ClientJson.parse(REPLY);
        assertEquals(MAPPER.writeValueAsString(theirs), ClientJson.print(mine, false));
        assertEquals(MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(theirs.path("result")),
                ClientJson.print(mine.path("result"), true));
        assertEquals(68719476736L, mine.path("result").path("resources").path(0).path("sizeBytes").asLong());
        assertEquals("Primary", mine.path("result").path("resources").path(0).path("role").asText());
    }

    @Test
    void everyCharacterIsEscapedAsJacksonEscapesIt() throws IOException {
        StringBuilder all = new StringBuilder();
        for (char c = 0; c < 0x80; c++) {
            all.append(c);
        }
        all.append("é€\uD83D\uDE00");
        Map<String, Object> v = Map.of(all.toString(), all.toString());
        String theirs = MAPPER.writeValueAsString(v);
        assertEquals(theirs, ClientJson.write(v));
        assertEquals(theirs, ClientJson.print(ClientJson.parse(theirs), false));
        assertEquals(all.toString(), ClientJson.parse(theirs).path(all.toString()).asText());
    }

    @Test
    void theAccessorsAnswerAsJacksonsDo() throws IOException {
        List<String> values = List.of("\"12\"", "\"abc\"", "\" true \"", "\"false\"", "\"1.5\"", "\"\"", "\"null\"",
                "0", "7", "-3", "1.9", "-2.5e3", "1099511627776", "123456789012345678901234567890", "true", "false",
                "null", "{}", "{\"a\":1,\"b\":null}", "[]", "[1,2]");
        for (String v : values) {
            String doc = "{\"v\":" + v + "}";
            JsonNode theirs = MAPPER.readTree(doc);
            JsonTree mine = ClientJson.parse(doc);
            for (String field : List.of("v", "absent")) {
                JsonNode t = theirs.path(field);
                JsonTree m = mine.path(field);
                String what = field + " = " + v;
                assertEquals(t.asText(), m.asText(), what);
                assertEquals(t.asText("dflt"), m.asText("dflt"), what);
                assertEquals(t.asInt(), m.asInt(), what);
                assertEquals(t.asInt(9), m.asInt(9), what);
                assertEquals(t.asLong(), m.asLong(), what);
                assertEquals(t.asLong(9), m.asLong(9), what);
                assertEquals(t.asDouble(), m.asDouble(), what);
                assertEquals(t.asBoolean(true), m.asBoolean(true), what);
                assertEquals(t.asBoolean(false), m.asBoolean(false), what);
                assertEquals(t.isObject(), m.isObject(), what);
                assertEquals(t.isEmpty(), m.isEmpty(), what);
                assertEquals(t.size(), m.size(), what);
                assertEquals(t.has("a"), m.has("a"), what);
                assertEquals(t.hasNonNull("b"), m.hasNonNull("b"), what);
                assertEquals(t.path(0).asText(), m.path(0).asText(), what);
                List<String> theirElements = new java.util.ArrayList<>();
                t.forEach(e -> theirElements.add(e.asText()));
                List<String> myElements = new java.util.ArrayList<>();
                m.forEach(e -> myElements.add(e.asText()));
                assertEquals(theirElements, myElements, what);
            }
        }
    }

    @Test
    void aRequestIsWrittenAsTheObjectMapperWritesIt() throws IOException {
        Map<String, Object> options = new LinkedHashMap<>();
        options.put("size", 1L << 40);
        options.put("force", true);
        options.put("start", "64M");
        options.put("list", List.of("a", 2, 2.5));
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("command", "resize");
        req.put("resource", null);
        req.put("options", options);
        assertEquals(MAPPER.writeValueAsString(req), ClientJson.write(req));
    }

    @Test
    void brokenRepliesAreRefusedWithWhatWasWrong() {
        for (String bad : List.of("", " ", "{\"exit\":0,", "{} {}", "[".repeat(100) + "]".repeat(100), "{\"a\" 1}",
                "[1 2]", "tru", "\"open", "\"\\x\"", "{1:2}", "+1", "-", "[1,]")) {
            assertThrows(IOException.class, () -> ClientJson.parse(bad), bad);
        }
    }
}
