package io.repl.agent.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs an external command to completion with a deadline, capturing its output. */
final class Cmd {
    /** What a finished command left behind. */
    record Result(List<String> argv, int exit, String out, String err) {
        Result ok() {
            if (exit != 0) {
                throw new AssertionError("command failed (exit " + exit + "): " + String.join(" ", argv)
                        + "\nstdout:\n" + out + "\nstderr:\n" + err);
            }
            return this;
        }
    }

    private Cmd() {}

    static Result run(String... argv) throws IOException, InterruptedException {
        return run(Map.of(), 300, argv);
    }

    static Result run(Map<String, String> env, int timeoutSeconds, String... argv)
            throws IOException, InterruptedException {
        Path out = Files.createTempFile("cmd", ".out");
        Path err = Files.createTempFile("cmd", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(argv).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("command did not finish in " + timeoutSeconds + " s: "
                        + String.join(" ", argv) + "\nstderr:\n" + Files.readString(err));
            }
            return new Result(new ArrayList<>(Arrays.asList(argv)), p.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    static boolean available(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}
