package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
 * advance from one capture of the pane to a later one.
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
        assumeTrue(Cmd.available("tmux"), "needs tmux");
        String server = "repl-watch-" + ProcessHandle.current().pid();
        try (PairFixture p = new PairFixture(dir, DISK_BYTES, "C")) {
            for (AgentProcess a : new AgentProcess[] {p.alpha, p.beta}) {
                Path f = a.configDir.resolve("r0.toml");
                Files.writeString(f, Files.readString(f) + "[disk]\nresync-rate-max = \"8M\"\n");
            }
            p.startConnectedOnSockets();
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
            System.out.println("[StatusWatchIT] first capture " + first[0].percent() + "% (" + first[0].cells()
                    + " cells), later " + later.percent() + "% (" + later.cells() + " cells):\n" + later.text());
        } finally {
            Cmd.run("tmux", "-L", server, "kill-server");
        }
    }

    private static Screen capture(String server) throws Exception {
        return Screen.of(Cmd.run("tmux", "-L", server, "capture-pane", "-p", "-t", "watch").ok().out());
    }
}
