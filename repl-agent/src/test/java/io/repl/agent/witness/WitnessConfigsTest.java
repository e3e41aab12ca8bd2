package io.repl.agent.witness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.agent.config.ConfigException;
import io.repl.agent.config.HostPort;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WitnessConfigsTest {
    @TempDir
    Path dir;

    @Test
    void sortsFilesIntoServedUnwitnessedAndBroken() throws Exception {
        WitnessFixture.write(dir, "r0", WitnessFixture.pairToml(7790));
        WitnessFixture.write(dir, "plain", WitnessFixture.pairToml(7790).replaceAll("(?s)\\[witness\\]\naddress = [^\n]*\n", ""));
        WitnessFixture.write(dir, "broken", "[witness\naddress = ");
        WitnessFixture.write(dir, "noaddress", WitnessFixture.pairToml(7790).replaceAll("address = \"127.0.0.1:7790\"\n",
                ""));
        WitnessConfigs.Directory d = WitnessConfigs.load(dir);
        assertEquals(Set.of("r0"), d.served().keySet());
        assertEquals(Set.of("plain"), d.unwitnessed().keySet());
        assertEquals(Set.of("broken", "noaddress"), d.errors().keySet());
        assertTrue(d.errors().get("noaddress").contains("witness.address"), d.errors().get("noaddress"));

        WitnessConfigs.Served r0 = d.served().get("r0");
        assertEquals(new HostPort("127.0.0.1", 7790), r0.address());
        assertEquals(List.of("alpha", "beta"), r0.nodes());
        assertEquals(0, r0.nodeId("alpha"));
        assertEquals(1, r0.nodeId("beta"));
        assertEquals(-1, r0.nodeId("gamma"));
        assertEquals(Duration.ofSeconds(1), r0.silenceMax(), "ping-interval + ping-timeout");
        assertEquals(WitnessFixture.SECRET, new String(r0.secret(), java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void aNodeNamedWitnessIsRefused() throws Exception {
        WitnessFixture.write(dir, "r0", WitnessFixture.pairToml(7790).replace("[node.beta]", "[node.witness]"));
        WitnessConfigs.Directory d = WitnessConfigs.load(dir);
        assertTrue(d.served().isEmpty());
        assertTrue(d.errors().get("r0").contains("node.witness"), d.errors().get("r0"));
    }

    @Test
    void aMissingDirectoryIsAConfigError() {
        assertThrows(ConfigException.class, () -> WitnessConfigs.load(dir.resolve("nope")));
    }
}
