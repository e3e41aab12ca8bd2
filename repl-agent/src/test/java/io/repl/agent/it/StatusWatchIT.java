package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code replctl status --watch} in a real terminal: run under tmux during a resync held to
 * 8 MiB/s, the screen shows a progress bar and the sync's {@code done:} percent, and both
 * advance from one capture of the pane to a later one; the event journal shows the same sync's
 * start, its progress and its end.
 */
@Timeout(180)
class StatusWatchIT {
    private static final long DISK_BYTES = 128L << 20;
    /** The bar as StatusText draws it, 40 cells: {@code [#####>..........]}. */
    private static final Pattern BAR = Pattern.compile("\\[(#*)>?\\.*\\]");
    private static final Pattern DONE = Pattern.compile("done:([0-9.]+)%");

    @TempDir
    Path dir;

    /** What a capture of the pane shows: the bar's filled cells and the percent, or -1 each when absent. */
    record Screen(String text, int cells, double percent) {
        static Screen of(String text) {
            Matcher bar = BAR.matcher(text);
            Matcher done = DONE.matcher(text);
            return new Screen(text, bar.find() ? bar.group(1).length() : -1,
                    done.find() ? Double.parseDouble(done.group(1)) : -1);
        }
    }

    @Test
    void underTmuxTheWatchDrawsAProgressBarThatAdvancesDuringAResync() throws Exception {
        assertTrue(Cmd.available("tmux"), "tmux is missing: apt-get install tmux (.ci/run installs it)");
        String server = "repl-watch-" + ProcessHandle.current().pid();
        try (PairFixture p = new PairFixture(dir, DISK_BYTES, "C")) {
            for (AgentProcess a : new AgentProcess[] {p.alpha, p.beta}) {
                Path f = a.configDir.resolve("r0.toml");
                Files.writeString(f, Files.readString(f) + "[disk]\nresync-rate-max = \"8M\"\n");
            }
            p.startConnectedOnSockets();
            // The journal's view of the same resync, from beta.
            Path events = dir.resolve("events-beta.txt");
            Process watcher = new ProcessBuilder(AgentProcess.ROOT.resolve("bin/replctl").toString(),
                    "--control-socket", p.beta.controlSocket.toString(), "events", "--state-dir",
                    dir.resolve("state-beta").toString(), "r0").redirectErrorStream(true)
                    .redirectOutput(events.toFile()).start();
            NbdClientsIT.waitFor(() -> Files.readString(events).contains(" exists -"), "the events watcher", 60);
            p.alpha.ctlNow("primary", "r0", Map.of("force", true));
            String watch = AgentProcess.ROOT.resolve("bin/replctl") + " --control-socket " + p.beta.controlSocket
                    + " status --watch r0";
            Cmd.run("tmux", "-L", server, "new-session", "-d", "-s", "watch", "-x", "120", "-y", "30", watch).ok();
            Screen[] first = new Screen[1];
            NbdClientsIT.waitFor(() -> {
                first[0] = capture(server);
                return first[0].cells() >= 0 && first[0].percent() >= 0;
            }, "a progress bar on the screen", 60);
            Screen later = null;
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (System.nanoTime() - deadline < 0) {
                Screen s = capture(server);
                if (s.cells() > first[0].cells() && s.percent() > first[0].percent()) {
                    later = s;
                    break;
                }
                Thread.sleep(500);
            }
            assertTrue(later != null, "the bar did not advance from\n" + first[0].text() + "\nnow:\n"
                    + capture(server).text());
            assertTrue(later.text().contains("replication:SyncTarget"), later.text());
            assertTrue(later.text().contains("Every 1s: replctl status r0"), later.text());
            p.waitSynced();
            // The follower prints what the journal's own thread wrote: give it the sync's end.
            NbdClientsIT.waitFor(() -> Files.readString(events).contains("change device name:r0 disk:UpToDate"),
                    "replctl events printed the end of the sync");
            watcher.destroy();
            watcher.waitFor();
            assertSyncJournaled(Files.readAllLines(events));
            System.out.println("[StatusWatchIT] first capture " + first[0].percent() + "% (" + first[0].cells()
                    + " cells), later " + later.percent() + "% (" + later.cells() + " cells):\n" + later.text());
        } finally {
            Cmd.run("tmux", "-L", server, "kill-server");
        }
    }

    /**
     * The journal shows the sync start, its progress (at the journal's pace, not every state
     * publication) with {@code done} rising, and its end with the disk UpToDate.
     */
    private static void assertSyncJournaled(java.util.List<String> lines) {
        String all = String.join("\n", lines);
        int start = -1;
        int end = -1;
        double last = -1;
        int progress = 0;
        Pattern done = Pattern.compile("change peer-device name:r0 peer:alpha replication:SyncTarget .* done:([0-9.]+) ");
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (start < 0 && l.contains("change peer-device name:r0 peer:alpha replication:SyncTarget")) {
                start = i;
            }
            Matcher m = done.matcher(l);
            if (m.find()) {
                double d = Double.parseDouble(m.group(1));
                assertTrue(d >= last, "done went back: " + l + "\n" + all);
                if (d > last) {
                    progress++;
                }
                last = d;
            }
            if (l.contains("change device name:r0 disk:UpToDate")) {
                end = i;
            }
        }
        assertTrue(start >= 0 && end > start, "the sync's start and end:\n" + all);
        assertTrue(progress >= 3, "progress events with done rising:\n" + all);
        assertTrue(lines.stream().anyMatch(l -> l.contains("change peer-device name:r0 peer:alpha "
                + "replication:Established peer-disk:UpToDate out-of-sync:0")), all);
    }

    private static Screen capture(String server) throws Exception {
        return Screen.of(Cmd.run("tmux", "-L", server, "capture-pane", "-p", "-t", "watch").ok().out());
    }
}
