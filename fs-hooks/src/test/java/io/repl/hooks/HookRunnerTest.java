package io.repl.hooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HookRunnerTest {
    private final HookRunner runner = new HookRunner(2);
    @TempDir
    Path dir;

    @AfterEach
    void close() {
        runner.close();
    }

    private HookResult run(String cmd, Map<String, String> env, Duration timeout) throws Exception {
        return runner.run("test", cmd, env, timeout).get(60, TimeUnit.SECONDS);
    }

    @Test
    void successSeesItsEnvironmentAndItsOutputIsKept() throws Exception {
        HookResult r = run("echo resource=$REPL_RESOURCE; echo oops >&2", Map.of("REPL_RESOURCE", "r0"),
                Duration.ofSeconds(30));
        assertTrue(r.succeeded(), r.toString());
        assertTrue(r.output().contains("resource=r0") && r.output().contains("oops"), r.output());
    }

    @Test
    void aFailingHandlerReportsItsExitCode() throws Exception {
        HookResult r = run("exit 3", Map.of(), Duration.ofSeconds(30));
        assertFalse(r.succeeded());
        assertEquals(3, r.exitCode());
        assertEquals("handler test exited with 3", r.summary());
    }

    @Test
    void aHungHandlerIsKilledWithTheProcessesItStarted() throws Exception {
        Path pidFile = dir.resolve("child.pid");
        HookResult r = run("sleep 300 & echo $! > " + pidFile + "; wait", Map.of(), Duration.ofMillis(1500));
        assertTrue(r.timedOut(), r.toString());
        long child = Long.parseLong(Files.readString(pidFile).trim());
        var handle = ProcessHandle.of(child);
        if (handle.isPresent()) {
            handle.get().onExit().get(10, TimeUnit.SECONDS);
        }
        assertFalse(ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false), "the child outlived its handler");
    }

    @Test
    void outputIsBoundedToTheLastLines() throws Exception {
        HookResult r = run("i=0; while [ $i -lt 500 ]; do echo line$i; i=$((i+1)); done", Map.of(),
                Duration.ofSeconds(30));
        String[] lines = r.output().split("\n");
        assertEquals(HookRunner.OUTPUT_LINES_MAX, lines.length);
        assertEquals("line499", lines[lines.length - 1]);
    }

    @Test
    void aCommandThatCannotRunIsAFailureNotAnException() throws Exception {
        HookResult r = run("/nonexistent/handler", Map.of(), Duration.ofSeconds(30));
        assertFalse(r.succeeded());
        assertEquals(127, r.exitCode(), "the shell's 'not found'");
    }
}
