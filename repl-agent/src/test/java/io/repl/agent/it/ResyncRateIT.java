package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The resync rate controller and {@code replctl status --watch} with two real agents: a full
 * sync under a low ceiling keeps the controller's bounds, yields to the application's writes,
 * climbs back when they stop and completes with identical replicas; the watch redraws the
 * progress of a running sync. Rates themselves are measured in bench/, not asserted here.
 */
class ResyncRateIT {
    private static final long DISK = 64L << 20;
    private static final long MAX = 16L << 20;
    private static final long MIN = 1L << 20;
    private static final long FILL = 1L << 20;
    private static final String RATE_KEYS = "[disk]\nresync-rate-max = \"16M\"\nresync-rate-min = \"1M/s\"\n"
            + "c-plan-ahead = \"1s\"\nc-fill-target = \"1M\"\n";
    private final ObjectMapper json = new ObjectMapper();
    @TempDir
    Path dir;

    private PairFixture pair() throws Exception {
        PairFixture p = new PairFixture(dir, DISK, "C");
        for (AgentProcess a : new AgentProcess[] {p.alpha, p.beta}) {
            Path file = a.configDir.resolve("r0.toml");
            a.writeConfig("r0", Files.readString(file).replace("[node.alpha]", RATE_KEYS + "[node.alpha]"));
        }
        return p.startConnected();
    }

    /** {@code replctl status --watch [--json] r0} on {@code a}, its lines collected as they come. */
    private static final class Watch implements AutoCloseable {
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();
        private final Thread reader;

        Watch(AgentProcess a, boolean asJson) throws IOException {
            List<String> argv = new ArrayList<>(List.of(AgentProcess.ROOT.resolve("bin/replctl").toString(),
                    "--control-socket", a.controlSocket.toString(), "status", "--watch"));
            if (asJson) {
                argv.add("--json");
            }
            argv.add("r0");
            process = new ProcessBuilder(argv).redirectErrorStream(true).start();
            reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        lines.add(line);
                    }
                } catch (IOException ignored) {
                    // the process was killed
                }
            });
            reader.setDaemon(true);
            reader.start();
        }

        @Override
        public void close() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            reader.join(5000);
        }
    }

    @Test
    void aCappedFullSyncKeepsItsBoundsYieldsToWritesAndCompletes() throws Exception {
        try (PairFixture p = pair(); Watch watch = new Watch(p.beta, true)) {
            NbdClientsIT.waitFor(() -> !watch.lines.isEmpty(), "a first line of status");
            p.alpha.ctl("primary", "--force", "r0").ok();
            NbdClientsIT.waitFor(() -> syncing(watch).size() >= 1, "beta reported as SyncTarget");
            int beforeWrites = syncing(watch).size();
            // The application writes on the Primary for a while: beta's controller yields to its DATA.
            Cmd.Result fio = Cmd.run("fio", "--name=app", "--ioengine=nbd", "--uri=" + p.uri(p.alpha),
                    "--rw=randwrite", "--bs=4k", "--iodepth=1", "--size=8M", "--time_based", "--runtime=3",
                    "--output-format=json").ok();
            int afterWrites = syncing(watch).size();
            p.waitSynced();
            List<JsonNode> samples = syncing(watch);
            assertTrue(samples.size() >= 3, "samples while syncing: " + samples.size());
            for (JsonNode sync : samples) {
                long controller = sync.path("controllerBytesPerSecond").asLong(-1);
                long inFlight = sync.path("inFlightBytes").asLong(-1);
                assertTrue(controller >= MIN && controller <= MAX, "controller rate within the floor and ceiling: "
                        + sync);
                assertTrue(inFlight >= 0 && inFlight <= FILL, "in flight within the fill target: " + sync);
            }
            List<JsonNode> during = samples.subList(beforeWrites, afterWrites);
            assertTrue(during.stream().anyMatch(s -> s.path("controllerBytesPerSecond").asLong() == MIN),
                    "at the floor while fio wrote: " + during + "\n" + fio.out());
            List<JsonNode> after = samples.subList(afterWrites, samples.size());
            assertTrue(after.stream().anyMatch(s -> s.path("controllerBytesPerSecond").asLong() > MIN),
                    "climbing back once the writes stopped: " + after);
            long data = p.dataBytes();
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "the sync completed with the writes");
        }
    }

    @Test
    void statusWatchRedrawsTheProgressOfARunningSync() throws Exception {
        try (PairFixture p = pair()) {
            List<String> lines;
            try (Watch watch = new Watch(p.beta, false)) {
                // The ceiling makes the sync last four seconds at least: the watch, started first,
                // sees several frames of it.
                NbdClientsIT.waitFor(() -> watch.lines.stream().anyMatch(l -> l.contains("Every 1s")), "a first frame");
                p.alpha.ctl("primary", "--force", "r0").ok();
                NbdClientsIT.waitFor(() -> percents(watch.lines).size() >= 3
                        || "Established".equals(p.status(p.beta).path("replication").asText()),
                        "three frames, or the end of the sync");
                lines = List.copyOf(watch.lines);
            }
            List<Double> percents = percents(lines);
            assertTrue(percents.size() >= 2, "redrawn at least twice during the sync: " + lines);
            assertTrue(percents.stream().distinct().count() >= 2, "the progress changed between frames: " + lines);
            long frames = lines.stream().filter(l -> l.contains("Every 1s: replctl status r0")).count();
            assertTrue(frames >= 2, "a header per frame: " + lines);
            assertTrue(lines.stream().anyMatch(l -> l.strip().matches("\\[#*>?\\.*\\]")), "a progress bar: " + lines);
            assertTrue(lines.stream().anyMatch(l -> l.contains(" rate:") && l.contains(" eta:")), lines.toString());
            assertTrue(lines.stream().noneMatch(l -> l.contains("\033")), "no escape codes into a pipe");
            p.waitSynced();
        }
    }

    @Test
    void watchEndsWithExit10WhenTheAgentIsUnreachable() throws Exception {
        Cmd.Result r = Cmd.run(AgentProcess.ROOT.resolve("bin/replctl").toString(), "--control-socket",
                dir.resolve("nobody.ctl").toString(), "status", "--watch");
        assertEquals(10, r.exit(), r.err());
        assertTrue(r.err().contains("cannot reach the repl agent"), r.err());
    }

    private List<JsonNode> syncing(Watch watch) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : watch.lines) {
            if (!line.startsWith("{")) {
                continue;
            }
            JsonNode r = json.readTree(line).path("resources").path(0);
            if ("SyncTarget".equals(r.path("replication").asText()) && r.path("sync").isObject()) {
                out.add(r.path("sync"));
            }
        }
        return out;
    }

    private static final Pattern DONE = Pattern.compile("done:([0-9.]+)%");

    private static List<Double> percents(List<String> lines) {
        List<Double> out = new ArrayList<>();
        for (String line : lines) {
            Matcher m = DONE.matcher(line);
            if (m.find()) {
                out.add(Double.parseDouble(m.group(1)));
            }
        }
        return out;
    }
}
