package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** create-md and dump-md through replctl, internal and external metadata, and refusals. */
class MetadataIT {
    private final ObjectMapper json = new ObjectMapper();
    @TempDir
    Path dir;

    private JsonNode r0(AgentProcess a) throws Exception {
        return json.readTree(a.ctl("status", "--json", "r0").ok().out()).path("resources").get(0);
    }

    @Test
    void internalMetadataIsCreatedOnceTakesTheDiskTailAndSurvivesARestart() throws Exception {
        Path disk = dir.resolve("d.img");
        StandaloneFixture.fillRandom(disk, 64L << 20, 1);
        Path sock = dir.resolve("r0.nbd");
        AgentProcess a = new AgentProcess(dir, "alpha");
        a.writeConfig("r0", "[node.alpha]\ndisk = \"" + disk + "\"\nnbd-socket = \"" + sock + "\"\n");
        try (a) {
            a.start();
            JsonNode st = r0(a);
            assertEquals("Diskless", st.path("disk").asText());
            assertTrue(st.path("error").asText().contains("replctl create-md r0"), st.toString());
            Cmd.Result dumpBefore = a.ctl("dump-md", "r0");
            assertEquals(11, dumpBefore.exit());
            assertTrue(dumpBefore.err().contains("create-md"), dumpBefore.err());

            JsonNode md = json.readTree(a.ctl("create-md", "r0").ok().out());
            assertEquals("internal", md.path("placement").asText());
            long data = md.path("dataBytes").asLong();
            assertTrue(data < (64L << 20) && data > (63L << 20), "the tail holds the metadata: " + data);
            assertEquals(data, md.path("areaOffsetBytes").asLong());
            assertEquals("0000000000000000", md.path("currentUuid").asText());

            Cmd.Result again = a.ctl("create-md", "r0");
            assertEquals(11, again.exit(), "valid metadata is not overwritten without --force");
            assertTrue(again.err().contains("--force"), again.err());

            a.ctl("up", "r0").ok();
            st = r0(a);
            assertEquals("UpToDate", st.path("disk").asText());
            assertEquals("internal", st.path("metadata").asText());
            assertEquals(data, st.path("sizeBytes").asLong());
            assertEquals(String.valueOf(data), Cmd.run("nbdinfo", "--size", st.path("nbd").asText()).ok().out().trim());
            Cmd.Result refused = a.ctl("create-md", "r0");
            assertEquals(11, refused.exit(), "create-md on an up resource");
            assertTrue(refused.err().contains("replctl down r0"), refused.err());
            // Writing the very last exported block must not touch the metadata behind it.
            Cmd.run("qemu-io", "-f", "raw", st.path("nbd").asText(), "-c", "write -P 0xee " + (data - 4096) + " 4096").ok();
            a.ctl("down", "r0").ok();
            JsonNode dump = json.readTree(a.ctl("dump-md", "r0").ok().out());
            assertTrue(dump.path("flags").toString().contains("al-clean"), dump.toString());
            assertEquals(md.path("sequence").asLong() < dump.path("sequence").asLong()
                    || md.path("sequence").asLong() == dump.path("sequence").asLong(), true);
        }
        AgentProcess b = new AgentProcess(dir, "alpha");
        try (b) {
            b.start();
            assertEquals("UpToDate", r0(b).path("disk").asText(), "metadata found again after a restart");
        }
    }

    @Test
    void corruptedSuperblocksKeepTheResourceDownWithAClearReasonAndTheAgentUp() throws Exception {
        Path disk = dir.resolve("d.img");
        StandaloneFixture.fillRandom(disk, 16L << 20, 2);
        Path sock = dir.resolve("r0.nbd");
        try (AgentProcess a = new AgentProcess(dir, "alpha")) {
            a.writeConfig("r0", "[node.alpha]\ndisk = \"" + disk + "\"\nnbd-socket = \"" + sock + "\"\n");
            a.writeConfig("r1", "[node.alpha]\nmeta-disk = \"none\"\ndisk = \"" + dir.resolve("other.img")
                    + "\"\nnbd-socket = \"" + dir.resolve("r1.nbd") + "\"\n");
            StandaloneFixture.fillRandom(dir.resolve("other.img"), 4L << 20, 3);
            a.start();
            JsonNode md = json.readTree(a.ctl("create-md", "r0").ok().out());
            long area = md.path("areaOffsetBytes").asLong();
            // Scribble over both superblock copies (blocks 0 and 1 of the area).
            try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
                f.seek(area + 100);
                f.write(new byte[] {1, 2, 3, 4});
                f.seek(area + 4096 + 200);
                f.write(new byte[] {5, 6, 7, 8});
            }
            Cmd.Result up = a.ctl("up", "r0");
            assertEquals(11, up.exit());
            assertTrue(up.err().contains("no usable metadata") && up.err().contains("copy"), up.err());
            assertTrue(a.alive());
            assertEquals("UpToDate", json.readTree(a.ctl("status", "--json", "r1").ok().out())
                    .path("resources").get(0).path("disk").asText(), "the other resource is untouched");
        }
    }

    @Test
    void externalMetadataLeavesTheWholeDiskToData() throws Exception {
        Path disk = dir.resolve("d.img");
        StandaloneFixture.fillRandom(disk, 32L << 20, 2);
        Path meta = dir.resolve("meta/r0.md");
        Path sock = dir.resolve("r0.nbd");
        try (AgentProcess a = new AgentProcess(dir, "alpha")) {
            a.writeConfig("r0", "[node.alpha]\ndisk = \"" + disk + "\"\nmeta-disk = \"" + meta
                    + "\"\nnbd-socket = \"" + sock + "\"\n");
            a.start();
            JsonNode md = json.readTree(a.ctl("create-md", "r0").ok().out());
            assertEquals("external", md.path("placement").asText());
            assertEquals(32L << 20, md.path("dataBytes").asLong());
            assertTrue(Files.size(meta) >= md.path("areaBytes").asLong());
            a.ctl("up", "r0").ok();
            JsonNode st = r0(a);
            assertEquals(32L << 20, st.path("sizeBytes").asLong());
            assertEquals("external", st.path("metadata").asText());
            assertNotEquals("", st.path("nbd").asText());
        }
    }
}
