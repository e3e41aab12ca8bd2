package io.repl.agent.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** replctl's JSON without an ObjectMapper reads and writes what the ObjectMapper would. */
class ClientJsonTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String REPLY = "{\"exit\":0,\"result\":{\"resources\":[{\"name\":\"r0\",\"role\":\"Primary\","
            + "\"sizeBytes\":68719476736,\"big\":123456789012345678901234567890,\"rate\":12.5,\"up\":true,"
            + "\"error\":null,\"peers\":[],\"traffic\":{\"bytesOut\":0},\"text\":\"a \\\"quoted\\\" \\u00e9 line\\n\"}]}}";

    @Test
    void aReplyParsesToTheTreeTheObjectMapperBuilds() throws IOException {
        JsonNode mine = ClientJson.parse(REPLY);
        assertEquals(MAPPER.readTree(REPLY), MAPPER.readTree(ClientJson.print(mine, false)));
        assertEquals(68719476736L, mine.path("result").path("resources").get(0).path("sizeBytes").asLong());
        assertEquals("Primary", mine.path("result").path("resources").get(0).path("role").asText());
    }

    @Test
    void indentedOutputIsTheObjectMappersIndentedOutput() throws IOException {
        JsonNode tree = MAPPER.readTree(REPLY).path("result");
        String expected = MAPPER.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(
                MAPPER.readTree(MAPPER.writeValueAsString(tree)));
        assertEquals(MAPPER.readTree(expected), MAPPER.readTree(ClientJson.print(tree, true)));
        assertTrue(ClientJson.print(tree, true).contains("\n  \"resources\" : [ {"), ClientJson.print(tree, true));
    }

    @Test
    void aRequestIsWrittenAsTheObjectMapperWritesIt() throws IOException {
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("command", "resize");
        req.put("resource", null);
        req.put("options", Map.of("size", 1L << 40, "force", true, "list", List.of("a", 2)));
        assertEquals(MAPPER.readTree(MAPPER.writeValueAsString(req)), MAPPER.readTree(ClientJson.write(req)));
    }

    @Test
    void brokenRepliesAreRefusedWithWhatWasWrong() {
        assertThrows(IOException.class, () -> ClientJson.parse("{\"exit\":0,"));
        assertThrows(IOException.class, () -> ClientJson.parse("{} {}"));
        assertThrows(IOException.class, () -> ClientJson.parse("[".repeat(100) + "]".repeat(100)));
    }
}
