package io.repl.agent.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.agent.config.HostPort;
import io.repl.hooks.HookResult;
import io.repl.hooks.HookRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Every handler learns the resource, this node and the peer's address; fence-peer's answer as the core takes it. */
@Timeout(30)
class ResourceHandlersTest {
    private final HookRunner runner = new HookRunner(2);

    @TempDir
    Path dir;

    @AfterEach
    void stop() {
        runner.close();
    }

    private ResourceHandlers handlers(Map<String, String> commands) {
        return new ResourceHandlers("r0", "beta", new HostPort("10.0.0.1", 7789), commands, runner);
    }

    @Test
    void theEnvironmentNamesTheResourceThisNodeAndThePeersAddress() {
        SortedMap<String, String> core = new TreeMap<>(Map.of("REPL_PEER", "alpha", "REPL_RESOURCE", "r0"));
        SortedMap<String, String> env = handlers(Map.of()).env(core);
        assertEquals(Map.of("REPL_PEER", "alpha", "REPL_RESOURCE", "r0", "REPL_NODE", "beta",
                "REPL_PEER_ADDRESS", "10.0.0.1:7789"), env);
    }

    @Test
    void fencePeerRunsTheHandlerWithThatEnvironmentAndReturnsItsExitCode() throws Exception {
        Path seen = dir.resolve("env");
        ResourceHandlers h = handlers(Map.of("fence-peer",
                "echo \"$REPL_NODE $REPL_PEER_ADDRESS $REPL_PEER\" > " + seen + "; echo outdated it; exit 4"));
        ResourceHandlers.FenceAnswer a = h.fencePeer(new TreeMap<>(Map.of("REPL_PEER", "alpha")))
                .get(20, TimeUnit.SECONDS);
        assertEquals(4, a.exitCode());
        assertEquals("outdated it", a.output());
        assertEquals("beta 10.0.0.1:7789 alpha\n", Files.readString(seen));
    }

    @Test
    void withoutAFencePeerHandlerTheAnswerIsAFailureThatKeepsWritesHeld() throws Exception {
        ResourceHandlers.FenceAnswer a = handlers(Map.of()).fencePeer(new TreeMap<>()).get(5, TimeUnit.SECONDS);
        assertEquals(-1, a.exitCode());
        assertTrue(a.output().contains("no fence-peer handler"), a.output());
    }

    @Test
    void aKilledOrUnstartableHandlerAnswersMinusOneAndSaysWhy() {
        ResourceHandlers.FenceAnswer killed = ResourceHandlers.answer(
                new HookResult("r0/fence-peer", -1, true, "trying ssh", null));
        assertEquals(-1, killed.exitCode());
        assertEquals("timed out after 60 s and was killed; trying ssh", killed.output());
        ResourceHandlers.FenceAnswer failed = ResourceHandlers.answer(
                new HookResult("r0/fence-peer", -1, false, "", "No such file"));
        assertEquals(-1, failed.exitCode());
        assertEquals("could not start: No such file", failed.output());
    }

    @Test
    void theOutputTailIsTheLastLinesOnOneBoundedLine() {
        assertEquals("c; d; e", ResourceHandlers.tail("a\nb\nc\nd\ne\n"));
        assertEquals("", ResourceHandlers.tail("  \n"));
        String longLine = "x".repeat(1000);
        assertEquals(303, ResourceHandlers.tail(longLine).length());
    }
}
