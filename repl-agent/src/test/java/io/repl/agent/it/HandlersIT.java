package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The handlers that are waited for around a role change, with real agents and bin/replctl:
 * {@code before-promote} and {@code before-demote} refuse the change with exit 11 and their
 * last lines (also under {@code --force}), get their environment, are killed at
 * {@code before-timeout}; the built-in mount checks and mounts a real ext4 after a promotion,
 * freezes and thaws it on request, and a busy mount refuses the demotion, naming who holds it.
 */
@Timeout(240)
class HandlersIT {
    private static final long DISK_BYTES = 64L << 20;

    @TempDir
    Path dir;

    /**
     * A handler script that records its environment in {@code NAME.env}, waits while
     * {@code NAME.hold} exists (a minute at most), and exits 3 while {@code NAME.no} exists.
     */
    private Path vetoScript(String name, String extra) throws Exception {
        Path env = dir.resolve(name + ".env");
        Path no = dir.resolve(name + ".no");
        Path hold = dir.resolve(name + ".hold");
        Path script = Files.writeString(dir.resolve(name + ".sh"), String.join("\n",
                "#!/bin/sh",
                "env | grep '^REPL_' | sort > " + env + ".tmp && mv " + env + ".tmp " + env,
                "i=0; while [ -e " + hold + " ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done",
                extra,
                "if [ -e " + no + " ]; then",
                "  echo 'checking the site'",
                "  echo 'the application is still running here'",
                "  exit 3",
                "fi",
                "exit 0",
                ""));
        assertTrue(script.toFile().setExecutable(true));
        return script;
    }

    private static void appendConfig(AgentProcess a, String toml) throws Exception {
        Path f = a.configDir.resolve("r0.toml");
        Files.writeString(f, Files.readString(f) + toml);
    }

    private static Map<String, String> env(Path file) throws Exception {
        return FencingIT.handlerEnv(file);
    }

    private static String role(PairFixture p, AgentProcess a) throws Exception {
        return p.status(a).path("role").asText();
    }

    @Test
    void beforePromoteRefusesEvenAForcedPromotionWithExit11AndItsLastLinesAndSeesItsEnvironment() throws Exception {
        Path script = vetoScript("before-promote", "");
        try (PairFixture p = new PairFixture(dir, DISK_BYTES, "C")) {
            appendConfig(p.alpha, "[handlers]\nbefore-promote = \"" + script + "\"\n");
            p.startConnectedOnSockets();
            Files.createFile(dir.resolve("before-promote.no"));
            Files.createFile(dir.resolve("before-promote.hold"));

            // While the handler holds the promotion, status still answers (a monitor must not time out).
            Path out = dir.resolve("primary.out");
            Process primary = new ProcessBuilder(AgentProcess.ROOT.resolve("bin/replctl").toString(),
                    "--control-socket", p.alpha.controlSocket.toString(), "primary", "--force", "r0")
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            NbdClientsIT.waitFor(() -> Files.exists(dir.resolve("before-promote.env")), "the handler to run", 60);
            Cmd.Result during = p.alpha.ctl("status", "r0");
            assertEquals(0, during.exit(), during.toString());
            assertTrue(during.out().contains("r0 role:Secondary"), during.out());
            assertTrue(primary.isAlive(), "the promotion waits for its handler");
            Files.delete(dir.resolve("before-promote.hold"));
            assertTrue(primary.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
            Cmd.Result r = new Cmd.Result(java.util.List.of("replctl primary --force r0"), primary.exitValue(), "",
                    Files.readString(out));
            assertEquals(11, r.exit(), r.toString());
            assertTrue(r.err().contains("before-promote handler refused the promotion: it exited with 3"), r.err());
            assertTrue(r.err().contains("the application is still running here"), r.err());
            assertEquals("Secondary", role(p, p.alpha));
            assertEquals("Secondary", role(p, p.beta));

            Map<String, String> seen = env(dir.resolve("before-promote.env"));
            assertEquals("r0", seen.get("REPL_RESOURCE"), seen.toString());
            assertEquals("alpha", seen.get("REPL_NODE"), seen.toString());
            assertEquals("beta", seen.get("REPL_PEER"), seen.toString());
            assertTrue(seen.get("REPL_PEER_ADDRESS").startsWith("127.0.0.1:"), seen.toString());
            assertEquals("before-promote", seen.get("REPL_EVENT"), seen.toString());
            assertEquals("1", seen.get("REPL_FORCE"), seen.toString());
            assertEquals("Secondary", seen.get("REPL_ROLE"), seen.toString());
            assertEquals("Inconsistent", seen.get("REPL_DISK"), seen.toString());
            assertEquals("Connected", seen.get("REPL_CONNECTION"), seen.toString());
            assertEquals("Secondary", seen.get("REPL_PEER_ROLE"), seen.toString());
            assertEquals("Inconsistent", seen.get("REPL_PEER_DISK"), seen.toString());

            Files.delete(dir.resolve("before-promote.no"));
            p.alpha.ctl("primary", "--force", "r0").ok();
            assertEquals("Primary", role(p, p.alpha));
            assertTrue(p.alpha.log().contains("handler r0/before-promote exited with 3"), "the veto is logged");
        }
    }

    @Test
    void beforeDemoteRefusesTheDemotionAndTheNodeStaysPrimary() throws Exception {
        Path script = vetoScript("before-demote", "");
        try (PairFixture p = new PairFixture(dir, DISK_BYTES, "C")) {
            appendConfig(p.alpha, "[handlers]\nbefore-demote = \"" + script + "\"\n");
            p.startConnectedOnSockets();
            p.alpha.ctlNow("primary", "r0", Map.of("force", true));
            p.waitSynced();
            Files.createFile(dir.resolve("before-demote.no"));

            Cmd.Result r = p.alpha.ctl("secondary", "r0");
            assertEquals(11, r.exit(), r.toString());
            assertTrue(r.err().contains("before-demote handler refused the demotion: it exited with 3"), r.err());
            assertTrue(r.err().contains("the application is still running here"), r.err());
            assertEquals("Primary", role(p, p.alpha));
            Map<String, String> seen = env(dir.resolve("before-demote.env"));
            assertEquals("Primary", seen.get("REPL_ROLE"), seen.toString());
            assertEquals("UpToDate", seen.get("REPL_DISK"), seen.toString());
            assertEquals("UpToDate", seen.get("REPL_PEER_DISK"), seen.toString());
            assertEquals("0", seen.get("REPL_FORCE"), seen.toString());
            // The peer cannot take over meanwhile: alpha is still Primary.
            assertEquals(11, p.beta.ctl("primary", "r0").exit());

            Files.delete(dir.resolve("before-demote.no"));
            p.alpha.ctl("secondary", "r0").ok();
            assertEquals("Secondary", role(p, p.alpha));
            p.beta.ctl("primary", "r0").ok();
        }
    }

    @Test
    void aHandlerPastBeforeTimeoutIsKilledWithWhatItStartedAndRefusesThePromotion() throws Exception {
        Path late = dir.resolve("late");
        Path script = vetoScript("slow", "echo 'waiting for the storage array'; (sleep 6; touch " + late
                + ") & sleep 30");
        try (PairFixture p = new PairFixture(dir, DISK_BYTES, "C")) {
            appendConfig(p.alpha, "[handlers]\nbefore-promote = \"" + script + "\"\nbefore-timeout = \"2s\"\n");
            p.startConnectedOnSockets();

            Cmd.Result r = p.alpha.ctl("primary", "--force", "r0");
            assertEquals(11, r.exit(), r.toString());
            assertTrue(r.err().contains("did not finish within 2 s (handlers.before-timeout) and was killed"), r.err());
            assertTrue(r.err().contains("waiting for the storage array"), r.err());
            assertEquals("Secondary", role(p, p.alpha));
            // What the handler started went with it: nothing touches the file after its deadline.
            Thread.sleep(6000);
            assertFalse(Files.exists(late), "a child of the killed handler lived on");
        }
    }

    /**
     * The built-in mount on a real ext4: the export as a block device through nbdfuse and a loop
     * device (what nbd-client gives on a real host), attached after the promotion, checked,
     * mounted; a process inside the mount refuses the demotion with exit 11 and is named; once it
     * has gone, the demotion unmounts, detaches and goes through, and the peer mounts the same files.
     */
    @Test
    void theBuiltInMountChecksAndMountsAfterPromoteAndABusyMountRefusesTheDemotion() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for losetup and mount");
        try (PairFixture p = new PairFixture(dir, DISK_BYTES, "C")) {
            Map<AgentProcess, String> loops = new java.util.HashMap<>();
            for (AgentProcess a : new AgentProcess[] {p.alpha, p.beta}) {
                // A free loop device for each node; losetup -f names it without taking it.
                String loop = Cmd.run("losetup", "-f").ok().out().trim();
                Path fuse = Files.createDirectories(dir.resolve("fuse-" + a.node));
                Files.writeString(dir.resolve("loop-" + a.node), loop);
                Path attach = script("attach-" + a.node, String.join("\n",
                        "#!/bin/sh",
                        "set -e",
                        "nbdfuse " + fuse.resolve("disk") + " '" + p.uri(a) + "' > " + dir.resolve("nbdfuse-" + a.node
                                + ".log") + " 2>&1 &",
                        "i=0; while [ ! -s " + fuse.resolve("disk") + " ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done",
                        "losetup " + loop + " " + fuse.resolve("disk"),
                        "echo attached " + loop));
                Path detach = script("detach-" + a.node, String.join("\n",
                        "#!/bin/sh",
                        "losetup -d " + loop,
                        // The loop device lets go once nothing (udev's probe after the unmount) has it open.
                        "i=0; until fusermount3 -u " + fuse + " 2>/dev/null; do",
                        "  i=$((i+1)); [ $i -lt 100 ] || { echo \"cannot unmount " + fuse + "\"; exit 1; }; sleep 0.05",
                        "done",
                        "echo detached " + loop));
                appendConfig(a, String.join("\n", "[handlers]",
                        "mount-device = \"" + loop + "\"",
                        "mount-point = \"" + dir.resolve("mnt-" + a.node) + "\"",
                        "mount-fstype = \"ext4\"",
                        "mount-options = \"noatime\"",
                        "mount-attach = \"" + attach + "\"",
                        "mount-detach = \"" + detach + "\"",
                        ""));
                loops.put(a, loop);
            }
            p.startConnectedOnSockets();
            Path mntAlpha = dir.resolve("mnt-alpha");
            Path mntBeta = dir.resolve("mnt-beta");
            Process holder = null;
            try {
                // A blank volume: fsck finds no file system, so nothing is mounted; the node is Primary.
                Cmd.Result blank = p.alpha.ctl("primary", "--force", "r0");
                assertEquals(11, blank.exit(), blank.toString());
                assertTrue(blank.err().contains("r0 is Primary, but the built-in mount failed: fsck -p "
                        + loops.get(p.alpha)), blank.err());
                assertEquals("Primary", role(p, p.alpha));
                assertFalse(isMountedAt(mntAlpha, loops.get(p.alpha)));
                Cmd.run("mkfs.ext4", "-q", "-F", loops.get(p.alpha)).ok();
                p.waitSynced();
                // Not mounted: the demotion only detaches; then a promotion checks and mounts.
                p.alpha.ctl("secondary", "r0").ok();
                p.alpha.ctl("primary", "r0").ok();
                assertTrue(isMountedAt(mntAlpha, loops.get(p.alpha)), "mounted after the promotion:\n"
                        + p.alpha.log());
                Files.writeString(mntAlpha.resolve("note.txt"), "written on alpha\n");

                // Frozen: a new file waits for the thaw, and the demotion is refused meanwhile.
                p.alpha.ctl("freeze", "r0").ok();
                Process late = new ProcessBuilder("sh", "-c", "echo after the thaw > " + mntAlpha.resolve("late.txt"))
                        .start();
                assertFalse(late.waitFor(2, java.util.concurrent.TimeUnit.SECONDS), "a write went into a frozen "
                        + "file system");
                Cmd.Result frozen = p.alpha.ctl("secondary", "r0");
                assertEquals(11, frozen.exit(), frozen.toString());
                assertTrue(frozen.err().contains("the file system is frozen (replctl freeze)"), frozen.err());
                p.alpha.ctl("thaw", "r0").ok();
                assertTrue(late.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "the write went on after the thaw");
                assertEquals("after the thaw\n", Files.readString(mntAlpha.resolve("late.txt")));

                holder = new ProcessBuilder("sleep", "300").directory(mntAlpha.toFile()).start();
                Cmd.Result busy = p.alpha.ctl("secondary", "r0");
                assertEquals(11, busy.exit(), busy.toString());
                assertTrue(busy.err().contains(mntAlpha + " is busy"), busy.err());
                assertTrue(busy.err().contains("pid " + holder.pid() + " (sleep)"), busy.err());
                assertEquals("Primary", role(p, p.alpha));
                assertTrue(isMountedAt(mntAlpha, loops.get(p.alpha)));

                holder.destroy();
                holder.waitFor();
                p.alpha.ctl("secondary", "r0").ok();
                assertFalse(isMountedAt(mntAlpha, loops.get(p.alpha)));
                assertEquals("Secondary", role(p, p.alpha));
                p.beta.ctl("primary", "r0").ok();
                assertTrue(isMountedAt(mntBeta, loops.get(p.beta)), "mounted on beta:\n" + p.beta.log());
                assertEquals("written on alpha\n", Files.readString(mntBeta.resolve("note.txt")));
                assertEquals("after the thaw\n", Files.readString(mntBeta.resolve("late.txt")));
                Cmd.Result secondaryFreeze = p.alpha.ctl("freeze", "r0");
                assertEquals(11, secondaryFreeze.exit(), secondaryFreeze.toString());
                assertTrue(secondaryFreeze.err().contains("freeze needs a Primary"), secondaryFreeze.err());
                p.beta.ctl("secondary", "r0").ok();
                assertFalse(isMountedAt(mntBeta, loops.get(p.beta)));
            } finally {
                if (holder != null) {
                    holder.destroyForcibly();
                }
                for (AgentProcess a : new AgentProcess[] {p.alpha, p.beta}) {
                    Cmd.run("umount", dir.resolve("mnt-" + a.node).toString());
                    Cmd.run("losetup", "-d", loops.get(a));
                    Cmd.run("fusermount3", "-u", dir.resolve("fuse-" + a.node).toString());
                }
            }
        }
    }

    private Path script(String name, String text) throws Exception {
        Path s = Files.writeString(dir.resolve(name + ".sh"), text + "\n");
        assertTrue(s.toFile().setExecutable(true));
        return s;
    }

    private static boolean isMountedAt(Path point, String device) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
            String[] f = line.split(" ");
            if (f[1].equals(point.toString())) {
                return f[0].equals(device);
            }
        }
        return false;
    }
}
