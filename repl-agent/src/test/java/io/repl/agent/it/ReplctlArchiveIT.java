package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/replctl's class-data archive, laid out as the tarball lays out bin/ and lib/: built by the
 * first run whatever that run was (here a usage error, which goes through picocli), and holding
 * both the hand-read path of the common commands and picocli's, so that later runs of either
 * load their classes from it.
 */
class ReplctlArchiveIT {
    @TempDir
    Path dir;

    private Path layOut() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("dist/bin"));
        Path lib = Files.createDirectories(dir.resolve("dist/lib"));
        for (String s : List.of("replctl", "repl-launch")) {
            Files.copy(AgentProcess.ROOT.resolve("bin").resolve(s), bin.resolve(s), StandardCopyOption.COPY_ATTRIBUTES);
        }
        try (Stream<Path> jars = Files.list(AgentProcess.ROOT.resolve("repl-agent/target/lib"))) {
            for (Path j : (Iterable<Path>) jars.filter(p -> p.toString().endsWith(".jar"))::iterator) {
                Files.copy(j, lib.resolve(j.getFileName()));
            }
        }
        return dir.resolve("dist");
    }

    /** Runs replctl with its own JVM options plus a log of where each class came from. */
    private Cmd.Result replctl(Path dist, Path classLog, String... args) throws Exception {
        String[] argv = new String[args.length + 1];
        argv[0] = dist.resolve("bin/replctl").toString();
        System.arraycopy(args, 0, argv, 1, args.length);
        String opts = "-Xmx64m -XX:+UseSerialGC -XX:-UsePerfData"
                + (classLog == null ? "" : " -Xlog:class+load:file=" + classLog);
        return Cmd.run(Map.of("REPL_JAVA_OPTS", opts), 300, argv);
    }

    private static boolean fromArchive(Path classLog, String className) throws Exception {
        return Files.readAllLines(classLog).stream()
                .anyMatch(l -> l.contains(" " + className + " source: shared objects file"));
    }

    @Test
    void aFirstRunThatIsAUsageErrorBuildsAnArchiveOfBothPaths() throws Exception {
        Path dist = layOut();
        Cmd.Result first = replctl(dist, null, "no-such-command");
        assertEquals(2, first.exit(), first.err());
        assertTrue(first.err().contains("no-such-command"), first.err());
        Path jsa = dist.resolve("lib/replctl.jsa");
        assertTrue(Files.isRegularFile(jsa), "the first run built " + jsa);
        try (Stream<Path> left = Files.list(dist.resolve("lib"))) {
            assertEquals(List.of(), left.filter(p -> p.getFileName().toString().contains("classlist")).toList(),
                    "no class list left behind");
        }

        Path hand = dir.resolve("hand.log");
        Cmd.Result status = replctl(dist, hand, "--control-socket", dir.resolve("none.sock").toString(), "status");
        assertEquals(10, status.exit(), status.err());
        assertTrue(status.err().contains("cannot reach the repl agent"), status.err());
        assertTrue(fromArchive(hand, "io.repl.agent.ctl.ClientArgs"), "the hand-read path is archived");
        assertTrue(fromArchive(hand, "io.repl.agent.ctl.ControlClient"), "the client is archived");

        Path help = dir.resolve("help.log");
        Cmd.Result usage = replctl(dist, help, "status", "--help");
        assertEquals(0, usage.exit(), usage.err());
        assertTrue(usage.out().startsWith("Usage: replctl status"), usage.out());
        assertTrue(fromArchive(help, "picocli.CommandLine"), "picocli's path is archived");
    }
}
