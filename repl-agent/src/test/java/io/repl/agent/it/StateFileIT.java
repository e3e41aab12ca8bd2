package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * RUN_DIR/r0.state of two real agents follows the pair through a promotion, the loss of the
 * peer and a down, with the writer's pid, as the OCF resource agent's monitor reads it.
 */
@Timeout(120)
class StateFileIT {
    @TempDir
    Path dir;

    @Test
    void theStateFileFollowsRolesConnectionAndDown() throws Exception {
        try (PairFixture pair = new PairFixture(dir, 16L << 20, "C").startConnectedOnSockets()) {
            AgentProcess alpha = pair.alpha;
            AgentProcess beta = pair.beta;
            NbdClientsIT.waitFor(() -> "Connected".equals(alpha.stateFile("r0").get("connection"))
                    && "Connected".equals(beta.stateFile("r0").get("connection")), "both state files Connected");
            Map<String, String> a = alpha.stateFile("r0");
            assertEquals("r0", a.get("resource"));
            assertEquals("up", a.get("state"));
            assertEquals("Secondary", a.get("role"));
            assertEquals(Long.toString(alpha.pid()), a.get("pid"));
            assertEquals(Long.toString(beta.pid()), beta.stateFile("r0").get("pid"));
            long before = Long.parseLong(a.get("generation"));

            alpha.ctlNow("primary", "r0", Map.of("force", true));
            pair.waitSynced();
            NbdClientsIT.waitFor(() -> "Primary".equals(beta.stateFile("r0").get("peer-role"))
                    && "UpToDate".equals(beta.stateFile("r0").get("disk")), "beta's file: peer Primary, disk UpToDate");
            a = alpha.stateFile("r0");
            assertEquals("Primary", a.get("role"));
            assertEquals("UpToDate", a.get("disk"));
            assertEquals("UpToDate", a.get("peer-disk"));
            assertEquals("Established", a.get("replication"));
            assertTrue(Long.parseLong(a.get("generation")) > before, "generation grew: " + a);

            beta.kill();
            NbdClientsIT.waitFor(() -> !"Connected".equals(alpha.stateFile("r0").get("connection")),
                    "alpha's file: the peer is gone");
            a = alpha.stateFile("r0");
            assertEquals("Primary", a.get("role"));
            assertEquals("DUnknown", a.get("peer-disk"));
            assertEquals("Unknown", a.get("peer-role"));

            alpha.ctlNow("down", "r0", Map.of());
            a = alpha.stateFile("r0");
            assertEquals("down", a.get("state"));
            assertTrue(a.get("reason").contains("was role Primary"), a.toString());
            assertEquals("Diskless", a.get("disk"));
        }
    }
}
