package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where io_uring is refused (seccomp, a sysctl, an old kernel) the agent must still serve, on
 * Linux AIO, and where that is refused too on the portable engine, and say why in its log.
 * The probes are made to fail on purpose, so no test depends on what this host allows.
 */
class EngineFallbackIT {
    @TempDir
    Path dir;

    @Test
    void aFailedIoUringProbeFallsBackToLibaioAndStillServesCorrectly() throws Exception {
        servesOnTheFallback(Map.of("REPL_IO_URING_DISABLE", "1"), "libaio", "io_uring");
    }

    @Test
    void failedIoUringAndLibaioProbesFallBackToFileChannelAndStillServeCorrectly() throws Exception {
        servesOnTheFallback(Map.of("REPL_IO_URING_DISABLE", "1", "REPL_LIBAIO_DISABLE", "1"), "filechannel",
                "libaio");
    }

    private void servesOnTheFallback(Map<String, String> env, String engine, String passedOver) throws Exception {
        Path disk = dir.resolve("disk.img");
        StandaloneFixture.fillRandom(disk, 64L << 20, 8);
        Path sock = dir.resolve("r0.nbd");
        try (AgentProcess a = new AgentProcess(dir, "alpha", env)) {
            a.writeConfig("r0", "[node.alpha]\nmeta-disk = \"none\"\ndisk = \"" + disk + "\"\nnbd-socket = \"" + sock + "\"\n");
            a.start();
            JsonNode r0 = new ObjectMapper().readTree(a.ctl("status", "--json").ok().out()).path("resources").get(0);
            assertEquals(engine, r0.path("ioEngine").asText());
            assertEquals("UpToDate", r0.path("disk").asText());
            assertTrue(a.log().contains(passedOver + " not used"), "the log says why " + passedOver
                    + " is not used:\n" + a.log());
            String uri = "nbd+unix:///r0?socket=" + sock;
            Cmd.Result fio = Cmd.run("fio", "--name=fallback", "--ioengine=nbd", "--uri=" + uri, "--rw=randrw",
                    "--bs=4k", "--iodepth=16", "--size=32M", "--verify=crc32c", "--verify_fatal=1",
                    "--verify_state_save=0", "--output-format=json").ok();
            JsonNode job = new ObjectMapper().readTree(fio.out().substring(fio.out().indexOf('{')))
                    .path("jobs").get(0);
            assertEquals(0, job.path("error").asInt(), fio.out());
        }
    }

    @Test
    void askingForIoUringByNameWhereItIsRefusedKeepsTheResourceDownWithTheReason() throws Exception {
        Path disk = dir.resolve("disk.img");
        StandaloneFixture.fillRandom(disk, 4L << 20, 8);
        try (AgentProcess a = new AgentProcess(dir, "alpha", Map.of("REPL_IO_URING_DISABLE", "1"))) {
            a.writeConfig("r0", "[disk]\nio-engine = \"io_uring\"\n[node.alpha]\nmeta-disk = \"none\"\ndisk = \"" + disk
                    + "\"\nnbd-socket = \"" + dir.resolve("r0.nbd") + "\"\n");
            a.start();
            JsonNode r0 = new ObjectMapper().readTree(a.ctl("status", "--json").ok().out()).path("resources").get(0);
            assertEquals("Diskless", r0.path("disk").asText());
            assertTrue(r0.path("error").asText().contains("io_uring"), r0.toString());
            assertTrue(a.alive());
        }
    }
}
