package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.repl.agent.NotifyListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release tarball as an operator gets it: unpacked, installed with install.sh into a clean
 * root (DESTDIR), again without changing anything, its systemd unit checked by
 * {@code systemd-analyze verify}, and the installed agent started as a {@code Type=notify}
 * unit starts it: READY=1 once its resources are up, STOPPING=1 at SIGTERM. (PID 1 is not
 * systemd where these tests run, so systemd itself cannot start the unit here.)
 */
class PackagingIT {
    @TempDir
    Path dir;

    private Path unpack() throws Exception {
        Path target = AgentProcess.ROOT.resolve("repl-agent/target");
        Path tarball;
        try (Stream<Path> s = Files.list(target)) {
            tarball = s.filter(p -> p.getFileName().toString().matches("repl-.*\\.tar\\.gz")).findFirst()
                    .orElseThrow(() -> new AssertionError("no repl-*.tar.gz in " + target + "; run the package phase"));
        }
        Path unpacked = Files.createDirectories(dir.resolve("unpacked"));
        Cmd.run("tar", "-C", unpacked.toString(), "-xzf", tarball.toString()).ok();
        try (Stream<Path> s = Files.list(unpacked)) {
            return s.findFirst().orElseThrow();
        }
    }

    private static Cmd.Result install(Path src, Path root) throws Exception {
        return Cmd.run(Map.of("DESTDIR", root.toString()), 120, "sh", src.resolve("install.sh").toString()).ok();
    }

    @Test
    void theTarballInstallsIntoACleanRootAgainWithoutChangesAndItsUnitVerifies() throws Exception {
        Path src = unpack();
        for (String f : new String[] {"bin/repl-agent", "bin/replctl", "lib/repl-agent.jar", "install.sh",
            "packaging/repl-agent.service", "packaging/examples/single-node.toml", "packaging/examples/pair.toml",
            "packaging/examples/pair-with-witness.toml", "completion/replctl", "README.md"}) {
            assertTrue(Files.isRegularFile(src.resolve(f)), "the tarball holds " + f);
        }
        assertFalse(Files.exists(src.resolve("packaging/install.sh")), "install.sh is at the top only");
        Path root = dir.resolve("root");
        install(src, root);
        Path opt = root.resolve("opt/repl");
        assertTrue(Files.isExecutable(opt.resolve("bin/repl-agent")));
        assertTrue(Files.isExecutable(opt.resolve("bin/replctl")));
        try (Stream<Path> a = Files.list(src.resolve("lib")); Stream<Path> b = Files.list(opt.resolve("lib"))) {
            assertEquals(a.count(), b.count(), "every jar");
        }
        assertTrue(Files.isRegularFile(opt.resolve("examples/pair-with-witness.toml")));
        assertEquals("rwxr-x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("etc/repl"))));
        assertTrue(Files.readString(root.resolve("etc/repl/agent.env")).contains("REPL_AGENT_ARGS=\"\""));
        String completion = Files.readString(root.resolve("usr/share/bash-completion/completions/replctl"));
        assertTrue(completion.contains("complete -F"), "bash completion for replctl");
        for (String command : new String[] {"status", "adjust", "invalidate-remote", "wait-sync"}) {
            assertTrue(completion.contains(command), "completes " + command);
        }
        if (Files.exists(src.resolve("ocf/repl"))) {
            assertTrue(Files.isExecutable(root.resolve("usr/lib/ocf/resource.d/repl/repl")), "ocf:repl:repl");
        }
        String unit = Files.readString(root.resolve("etc/systemd/system/repl-agent.service"));
        assertTrue(unit.contains("Type=notify") && unit.contains("ExecStart=/opt/repl/bin/repl-agent --config-dir /etc/repl"),
                unit);

        // Again, over an operator's edit and a jar an older version left behind.
        Map<String, String> before = snapshot(root);
        Files.writeString(root.resolve("etc/repl/agent.env"), "REPL_AGENT_ARGS=\"--node alpha\"\n");
        Files.writeString(opt.resolve("lib/old-dependency-0.9.jar"), "stale");
        install(src, root);
        Map<String, String> after = snapshot(root);
        assertEquals("REPL_AGENT_ARGS=\"--node alpha\"\n", Files.readString(root.resolve("etc/repl/agent.env")),
                "the operator's file is kept");
        after.remove("etc/repl/agent.env");
        before.remove("etc/repl/agent.env");
        assertEquals(before, after, "a second install changes nothing else, and leaves no stale jar");

        // systemd's own check of the installed unit, its paths taken under the staging root.
        Path checked = dir.resolve("repl-agent.service");
        Files.writeString(checked, unit.replace("/opt/repl", opt.toString()));
        Cmd.Result verify = Cmd.run("systemd-analyze", "verify", checked.toString());
        assertEquals(0, verify.exit(), verify.out() + verify.err());
        assertEquals("", (verify.out() + verify.err()).strip(), "no warning about the unit");
    }

    @Test
    void theInstalledAgentIsReadyOnceItsResourcesAreUpAndSaysStoppingAtSigterm() throws Exception {
        Path root = dir.resolve("root");
        install(unpack(), root);
        Path opt = root.resolve("opt/repl");
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Path disk = disk("ok.img");
        Path nbd = dir.resolve("ok.nbd");
        Files.writeString(conf.resolve("ok.toml"), "[node.alpha]\ndisk = \"" + disk + "\"\nmeta-disk = \"none\"\n"
                + "nbd-socket = \"" + nbd + "\"\n");
        Files.writeString(conf.resolve("bad.toml"), "protocol = \"Z\"\n[node.alpha]\ndisk = \"/nonexistent\"\n");
        Path ctl = dir.resolve("control.sock");
        try (NotifyListener systemd = new NotifyListener("@repl-packaging-it-" + ProcessHandle.current().pid())) {
            ProcessBuilder pb = new ProcessBuilder(opt.resolve("bin/repl-agent").toString(), "--config-dir",
                    conf.toString(), "--node", "alpha", "--control-socket", ctl.toString(), "--state-dir",
                    dir.resolve("state").toString()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("agent.log").toFile());
            pb.environment().put("NOTIFY_SOCKET", systemd.name());
            Process agent = pb.start();
            try {
                String ready = systemd.nextWith("READY=1", 60);
                assertNotNull(ready, "READY=1 within a minute\n" + Files.readString(dir.resolve("agent.log")));
                // Right at READY: the good resource serves, the bad one is reported down with its reason.
                JsonNode status = new ObjectMapper().readTree(Cmd.run(opt.resolve("bin/replctl").toString(),
                        "--control-socket", ctl.toString(), "status", "--json").ok().out());
                JsonNode ok = status.path("resources").get(1);
                JsonNode bad = status.path("resources").get(0);
                assertEquals("ok", ok.path("name").asText());
                assertEquals("UpToDate", ok.path("disk").asText());
                assertFalse(ok.path("nbd").isNull(), ok.toString());
                assertEquals("bad", bad.path("name").asText());
                assertTrue(bad.path("error").asText().contains("protocol"), bad.toString());
                assertTrue(ready.contains("STATUS=node alpha: 1 resource(s) up (ok), 1 down (bad; see replctl status)"),
                        ready);
                assertTrue(ready.contains("MAINPID=" + agent.pid()), "the launchers exec: the JVM is the unit's "
                        + "main process\n" + ready);
                Cmd.run("nbdinfo", "nbd+unix:///ok?socket=" + nbd).ok();

                // The operator fixes the bad file and brings it up: the unit's status line follows.
                Files.writeString(conf.resolve("bad.toml"), "[node.alpha]\ndisk = \"" + disk("bad.img")
                        + "\"\nmeta-disk = \"none\"\nnbd-socket = \"" + dir.resolve("bad.nbd") + "\"\n");
                Cmd.run(opt.resolve("bin/replctl").toString(), "--control-socket", ctl.toString(), "up", "bad").ok();
                String afterUp = systemd.nextWith("STATUS=node alpha: 2 resource(s) up (bad, ok)", 30);
                assertNotNull(afterUp, "STATUS= after up");

                agent.destroy();
                assertNotNull(systemd.nextWith("STOPPING=1", 60), "STOPPING=1 at SIGTERM");
                assertTrue(agent.waitFor(60, TimeUnit.SECONDS));
                assertEquals(143, agent.exitValue(), "SuccessExitStatus=143 in the unit");
            } finally {
                agent.destroyForcibly();
            }
        }
    }

    /** A sparse 16 MiB file under the test directory. */
    private Path disk(String name) throws Exception {
        Path disk = dir.resolve(name);
        try (var ch = java.nio.channels.FileChannel.open(disk, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[1]), (16L << 20) - 1);
        }
        return disk;
    }

    /** Every file under {@code root}: its mode and content hash, by relative path. */
    private static Map<String, String> snapshot(Path root) throws Exception {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
                m.put(root.relativize(p).toString(), mode + (Files.isRegularFile(p)
                        ? " " + PairFixture.sha256(p, Long.MAX_VALUE) : ""));
            }
        }
        return m;
    }
}
