package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code replctl events} with real agents: each node's watcher prints the current state, then
 * follows a switchover (demote on alpha, promote on beta) as it happens on its node and as the
 * peer's view changes; {@code --since} replays what came before it started, {@code --now}
 * prints the state and exits.
 */
@Timeout(180)
class EventsIT {
    private static final long DISK_BYTES = 64L << 20;

    @TempDir
    Path dir;

    /** {@code bin/replctl ... events ARGS} in the background, its output in a file. */
    private Process events(AgentProcess a, Path out, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(AgentProcess.ROOT.resolve("bin/replctl").toString(),
                "--control-socket", a.controlSocket.toString(), "events", "--state-dir",
                dir.resolve("state-" + a.node).toString()));
        argv.addAll(List.of(args));
        return new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    }

    /** The lines of {@code out} without their time stamps. */
    private static List<String> lines(Path out) throws Exception {
        List<String> l = new ArrayList<>();
        for (String line : Files.readAllLines(out)) {
            int space = line.indexOf(' ');
            l.add(space < 0 ? line : line.substring(space + 1));
        }
        return l;
    }

    /** Asserts that {@code expected} appear in {@code lines} in this order (other lines may come between). */
    private static void assertInOrder(List<String> lines, String... expected) {
        int at = -1;
        for (String e : expected) {
            int found = -1;
            for (int i = at + 1; i < lines.size(); i++) {
                if (lines.get(i).equals(e)) {
                    found = i;
                    break;
                }
            }
            assertTrue(found > at, "\"" + e + "\" after line " + at + " in:\n" + String.join("\n", lines));
            at = found;
        }
    }

    private static boolean has(Path out, String line) throws Exception {
        return Files.exists(out) && lines(out).contains(line);
    }

    @Test
    void eventsFollowASwitchoverOnBothNodesAndReplayItFromTheJournal() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK_BYTES, "C")) {
            p.startConnectedOnSockets();
            p.alpha.ctlNow("primary", "r0", Map.of("force", true));
            p.waitSynced();
            Path onAlpha = dir.resolve("events-alpha.txt");
            Path onBeta = dir.resolve("events-beta.txt");
            Process watchAlpha = events(p.alpha, onAlpha, "r0");
            Process watchBeta = events(p.beta, onBeta, "r0");
            try {
                NbdClientsIT.waitFor(() -> has(onAlpha, "exists -") && has(onBeta, "exists -"), "both watchers");
                p.alpha.ctl("secondary", "r0").ok();
                p.beta.ctl("primary", "r0").ok();
                NbdClientsIT.waitFor(() -> has(onAlpha, "change connection name:r0 peer:beta connection:Connected "
                        + "role:Primary") && has(onBeta, "response command name:r0 command:primary force:no exit:0"),
                        "the switchover in both journals");
            } finally {
                watchAlpha.destroy();
                watchBeta.destroy();
                watchAlpha.waitFor();
                watchBeta.waitFor();
            }
            assertInOrder(lines(onAlpha),
                    "exists resource name:r0 role:Primary suspended:no",
                    "exists device name:r0 disk:UpToDate",
                    "exists connection name:r0 peer:beta connection:Connected role:Secondary",
                    "exists peer-device name:r0 peer:beta replication:Established peer-disk:UpToDate out-of-sync:0",
                    "exists -",
                    "call command name:r0 command:secondary force:no",
                    "call helper name:r0 helper:after-demote handler:none node:alpha peer:beta peer-address:127.0.0.1:"
                            + peerPort(p, "beta"),
                    "change resource name:r0 role:Secondary suspended:no",
                    "response command name:r0 command:secondary force:no exit:0",
                    "change connection name:r0 peer:beta connection:Connected role:Primary");
            assertInOrder(lines(onBeta),
                    "exists resource name:r0 role:Secondary suspended:no",
                    "exists connection name:r0 peer:alpha connection:Connected role:Primary",
                    "exists -",
                    "change connection name:r0 peer:alpha connection:Connected role:Secondary",
                    "call command name:r0 command:primary force:no",
                    "change resource name:r0 role:Primary suspended:no",
                    "response command name:r0 command:primary force:no exit:0");

            // The forced promotion came before any watcher: --since finds it in the journal.
            Path replay = dir.resolve("replay-alpha.txt");
            Process since = events(p.alpha, replay, "--since", "10m", "r0");
            try {
                NbdClientsIT.waitFor(() -> has(replay, "response command name:r0 command:secondary force:no exit:0"),
                        "the replay");
            } finally {
                since.destroy();
                since.waitFor();
            }
            assertInOrder(lines(replay),
                    "call command name:r0 command:primary force:yes",
                    "change resource name:r0 role:Primary suspended:no",
                    "response command name:r0 command:primary force:yes exit:0",
                    "change peer-device name:r0 peer:beta replication:Established peer-disk:UpToDate out-of-sync:0",
                    "call command name:r0 command:secondary force:no",
                    "response command name:r0 command:secondary force:no exit:0");

            Cmd.Result now = p.beta.ctl("events", "--now", "r0");
            assertEquals(0, now.exit(), now.toString());
            assertInOrder(lines(dir.resolve(writeOut(now.out()))),
                    "exists resource name:r0 role:Primary suspended:no", "exists -");
            Cmd.Result json = p.beta.ctl("events", "--now", "--json", "r0");
            assertTrue(json.out().startsWith("{\"time\":\""), json.out());
            assertTrue(json.out().contains("\"verb\":\"exists\",\"object\":\"resource\",\"name\":\"r0\","
                    + "\"role\":\"Primary\""), json.out());
        }
    }

    /**
     * The survivor's view of a failover, as an operator following it with {@code replctl events}
     * sees it: the Primary's agent is killed, the connection breaks and the disk turns
     * Consistent; a promotion without --force is refused with the reason; the forced one goes
     * through; the old Primary returns, resyncs as the target and the pair is whole again.
     */
    @Test
    void eventsFollowAKilledPrimarysFailoverOnTheSurvivor() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK_BYTES, "C")) {
            p.startConnectedOnSockets();
            p.alpha.ctlNow("primary", "r0", Map.of("force", true));
            p.waitSynced();
            Path onBeta = dir.resolve("events-beta.txt");
            Process watchBeta = events(p.beta, onBeta, "r0");
            try {
                NbdClientsIT.waitFor(() -> has(onBeta, "exists -"), "the watcher");
                Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "write -P 0x5a 1M 1M", "-c", "flush").ok();
                p.alpha.kill();
                NbdClientsIT.waitFor(() -> has(onBeta, "change device name:r0 disk:Consistent"),
                        "beta to lose its Primary");
                assertEquals(17, p.beta.ctl("primary", "r0").exit());
                p.beta.ctl("primary", "--force", "r0").ok();
                p.alpha.start();
                p.alpha.ctlNow("up", "r0", Map.of());
                NbdClientsIT.waitFor(() -> has(onBeta, "change peer-device name:r0 peer:alpha "
                        + "replication:Established peer-disk:UpToDate out-of-sync:0"), "the old Primary's resync");
            } finally {
                watchBeta.destroy();
                watchBeta.waitFor();
            }
            List<String> l = lines(onBeta);
            System.out.println("replctl events r0 on the survivor:\n" + String.join("\n", Files.readAllLines(onBeta)));
            assertInOrder(l,
                    "exists resource name:r0 role:Secondary suspended:no",
                    "exists connection name:r0 peer:alpha connection:Connected role:Primary",
                    "exists -",
                    "change device name:r0 disk:Consistent",
                    "call command name:r0 command:primary force:no",
                    "call command name:r0 command:primary force:yes",
                    "change resource name:r0 role:Primary suspended:no",
                    "change device name:r0 disk:UpToDate",
                    "response command name:r0 command:primary force:yes exit:0",
                    "change connection name:r0 peer:alpha connection:Connected role:Secondary",
                    "change peer-device name:r0 peer:alpha replication:Established peer-disk:UpToDate out-of-sync:0");
            String refusal = l.stream().filter(x -> x.startsWith("response command name:r0 command:primary force:no"))
                    .findFirst().orElseThrow();
            assertTrue(refusal.contains("exit:17") && refusal.contains("without a goodbye"), refusal);
            assertTrue(l.stream().anyMatch(x -> x.startsWith("change connection name:r0 peer:alpha connection:")
                    && !x.contains("connection:Connected")), "the broken connection:\n" + String.join("\n", l));
            assertTrue(l.stream().anyMatch(x -> x.startsWith("change peer-device name:r0 peer:alpha replication:SyncSource")),
                    "the resync:\n" + String.join("\n", l));
            Cmd.Result read = Cmd.run("qemu-io", "-f", "raw", p.uri(p.beta), "-c", "read -P 0x5a 1M 1M").ok();
            assertTrue(!read.out().contains("Pattern verification failed"), read.out());
        }
    }

    private String writeOut(String text) throws Exception {
        Path f = Files.createTempFile(dir, "out", ".txt");
        Files.writeString(f, text);
        return f.getFileName().toString();
    }

    private static String peerPort(PairFixture p, String node) throws Exception {
        String toml = Files.readString(p.alpha.configDir.resolve("r0.toml"));
        int section = toml.indexOf("[node." + node + "]");
        int at = toml.indexOf("127.0.0.1:", section) + "127.0.0.1:".length();
        return toml.substring(at, toml.indexOf('"', at));
    }
}
