package io.repl.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The example resource files the tarball ships load with the agent's own loader, so they never rot. */
class ExampleConfigsTest {
    private static final Path EXAMPLES = Path.of("..", "packaging", "examples");
    private final ConfigLoader loader = new ConfigLoader();

    @Test
    void theSingleNodeExampleIsAStandaloneVolume() throws Exception {
        ResourceConfig c = loader.load(EXAMPLES.resolve("single-node.toml"));
        assertTrue(c.standalone());
        assertEquals(Path.of("/dev/sdb"), c.local("alpha").disk());
    }

    @Test
    void thePairExampleMirrorsUnderProtocolCWithoutAWitness() throws Exception {
        ResourceConfig c = loader.load(EXAMPLES.resolve("pair.toml"));
        assertFalse(c.standalone());
        assertEquals(ResourceConfig.Protocol.C, c.protocol());
        assertTrue(c.witness().isEmpty());
        assertEquals("beta", c.peerOf("alpha").orElseThrow().name());
    }

    @Test
    void thePairWithAWitnessExampleNamesTheWitness() throws Exception {
        ResourceConfig c = loader.load(EXAMPLES.resolve("pair-with-witness.toml"));
        assertEquals(new HostPort("10.0.0.3", 7790), c.witness().orElseThrow().address());
        assertEquals(2, c.nodes().size());
    }

    @Test
    void everyExampleInTheDirectoryLoads() throws Exception {
        ConfigLoader.Directory d = loader.loadDirectory(EXAMPLES);
        assertEquals(java.util.Map.of(), d.errors());
        assertEquals(3, d.resources().size(), d.resources().keySet().toString());
    }
}
