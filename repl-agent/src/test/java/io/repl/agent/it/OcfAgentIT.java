package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OCF resource agent fs-hooks/ocf/repl against a real pair: Debian's ocf-tester passes,
 * and each monitor exit code and promotion score comes from states set up for real (a fresh
 * pair, a resync, a writer on the export, a killed peer, a Primary that detached its disk and
 * then lost its peer, a node restarted alone). The promotion scores are read from a recording
 * crm_attribute; PacemakerFailoverIT uses the real one. Requests go to the control socket through
 * python3 (the default) on one node and through bin/replctl ({@code use_replctl=true}) on the other.
 */
@Timeout(300)
class OcfAgentIT {
    @TempDir
    Path dir;
    private final List<Long> startedByTheRa = new ArrayList<>();

    @Test
    void ocfTesterPassesAgainstARealPair() throws Exception {
        assertTrue(Cmd.available("ocf-tester"), "ocf-tester is missing: apt-get install resource-agents");
        try (PairFixture pair = new PairFixture(dir, 16L << 20, "C")) {
            pair.startConnectedOnSockets();
            pair.alpha.ctlNow("primary", "r0", Map.of("force", true));
            pair.waitSynced();
            pair.alpha.ctlNow("secondary", "r0", Map.of());
            OcfAgent ra = new OcfAgent(pair.alpha);
            List<String> argv = new ArrayList<>(List.of("ocf-tester", "-v", "-n", "repl_r0"));
            ra.params().forEach((k, v) -> {
                argv.add("-o");
                argv.add(k.substring("OCF_RESKEY_".length()) + "=" + v);
            });
            argv.add(OcfAgent.RA.toString());
            Map<String, String> env = ra.env();
            env.keySet().removeIf(k -> k.startsWith("OCF_RESKEY_"));
            Cmd.Result r = Cmd.run(env, 240, argv.toArray(String[]::new));
            System.out.println("[OcfAgentIT] ocf-tester:\n" + r.out() + r.err());
            assertEquals(0, r.exit(), r.out() + r.err());
            assertTrue(r.out().contains("passed all tests"), r.out());
        }
    }

    @Test
    void eachMonitorCodeAndPromotionScoreFromRealStates() throws Exception {
        try (PairFixture pair = new PairFixture(dir, 16L << 20, "C")) {
            AgentProcess alpha = pair.alpha;
            AgentProcess beta = pair.beta;
            for (AgentProcess a : new AgentProcess[] {alpha, beta}) {
                // A full sync of 16 MiB takes seconds, long enough to see the SyncTarget's score.
                Files.writeString(a.configDir.resolve("r0.toml"), "[disk]\nresync-rate-max = \"2M\"\n",
                        StandardOpenOption.APPEND);
            }
            OcfAgent raA = new OcfAgent(alpha);
            // alpha's resource agent talks to the control socket with python3, beta's runs bin/replctl.
            OcfAgent raB = new OcfAgent(beta, true);
            try {
                pair.startConnectedOnSockets();

                // Two fresh disks, both Inconsistent: running, and neither may be promoted.
                assertEquals(OcfAgent.SUCCESS, raA.exit("monitor"));
                assertNull(raA.score(), "no score while no disk is UpToDate");

                // alpha Primary and SyncSource: promoted, 10000; beta SyncTarget of good data: 10.
                alpha.ctlNow("primary", "r0", Map.of("force", true));
                NbdClientsIT.waitFor(() -> "SyncTarget".equals(beta.stateFile("r0").get("replication")),
                        "beta SyncTarget");
                assertEquals(OcfAgent.RUNNING_PROMOTED, raA.exit("monitor"));
                assertEquals("10000", raA.score());
                assertEquals(OcfAgent.SUCCESS, raB.exit("monitor"));
                assertEquals("SyncTarget", beta.stateFile("r0").get("replication"), "still syncing when scored");
                assertEquals("10", raB.score(), "only the peer has good data");

                // In sync: beta UpToDate and connected, 10000.
                pair.waitSynced();
                assertEquals(OcfAgent.SUCCESS, raB.exit("monitor"));
                assertEquals("10000", raB.score());

                // A writer on alpha's export: demote refused (replctl exit 11) becomes an OCF error.
                try (NbdTestClient writer = NbdTestClient.open(pair.socket(alpha), "r0")) {
                    Cmd.Result refused = raA.run("demote");
                    assertEquals(OcfAgent.ERR_GENERIC, refused.exit(), refused.err());
                    assertTrue(refused.err().contains("ocf-exit-reason:") && refused.err().contains("writer"),
                            refused.err());
                    assertEquals(OcfAgent.RUNNING_PROMOTED, raA.exit("monitor"));
                }
                assertEquals(OcfAgent.SUCCESS, raA.exit("demote"));
                assertEquals(OcfAgent.SUCCESS, raA.exit("monitor"));
                assertEquals(OcfAgent.SUCCESS, raA.exit("promote"));
                assertEquals(OcfAgent.RUNNING_PROMOTED, raA.exit("monitor"));

                // beta killed: alpha UpToDate with its peer unknown, 1000; beta's agent is gone: 7.
                beta.kill();
                NbdClientsIT.waitFor(() -> !"Connected".equals(alpha.stateFile("r0").get("connection")),
                        "alpha lost beta");
                assertEquals(OcfAgent.RUNNING_PROMOTED, raA.exit("monitor"));
                assertEquals("1000", raA.score());
                assertEquals(OcfAgent.NOT_RUNNING, raB.exit("monitor"), "state file left by a dead agent");
                assertNull(raB.score());

                // start finds no agent for beta, starts one from bindir and brings r0 up Secondary.
                assertEquals(OcfAgent.SUCCESS, raB.exit("start"), beta.log());
                long betaPid = Long.parseLong(beta.stateFile("r0").get("pid"));
                startedByTheRa.add(betaPid);
                assertNotEquals(beta.pid(), betaPid);
                assertEquals(OcfAgent.SUCCESS, raB.exit("monitor"));
                NbdClientsIT.waitFor(() -> "UpToDate".equals(beta.stateFile("r0").get("disk"))
                        && "Established".equals(beta.stateFile("r0").get("replication")), "beta resynced");
                assertEquals(OcfAgent.SUCCESS, raB.exit("monitor"));
                assertEquals("10000", raB.score());

                // alpha detaches its disk: a Primary served through beta (10); beta killed: failed Primary.
                alpha.ctlNow("detach", "r0", Map.of());
                NbdClientsIT.waitFor(() -> "Diskless".equals(alpha.stateFile("r0").get("disk")), "alpha Diskless");
                assertEquals(OcfAgent.RUNNING_PROMOTED, raA.exit("monitor"));
                assertEquals("10", raA.score());
                ProcessHandle.of(betaPid).ifPresent(ProcessHandle::destroyForcibly);
                NbdClientsIT.waitFor(() -> !"Connected".equals(alpha.stateFile("r0").get("connection")),
                        "alpha lost beta again");
                Cmd.Result failed = raA.run("monitor");
                assertEquals(OcfAgent.FAILED_PROMOTED, failed.exit(), failed.err());
                assertNull(raA.score());

                // stop takes alpha down: not running.
                assertEquals(OcfAgent.SUCCESS, raA.exit("stop"));
                assertEquals("down", alpha.stateFile("r0").get("state"));
                assertEquals(OcfAgent.NOT_RUNNING, raA.exit("monitor"));
                assertEquals(OcfAgent.SUCCESS, raA.exit("stop"), "stopping a stopped resource");

                // beta restarted alone: Consistent, it cannot know what alpha did; running, no score.
                assertEquals(OcfAgent.SUCCESS, raB.exit("start"), beta.log());
                startedByTheRa.add(Long.parseLong(beta.stateFile("r0").get("pid")));
                assertEquals("Consistent", beta.stateFile("r0").get("disk"));
                assertEquals(OcfAgent.SUCCESS, raB.exit("monitor"));
                assertNull(raB.score());
                Cmd.Result refused = raB.run("promote");
                assertEquals(OcfAgent.ERR_GENERIC, refused.exit());
                assertTrue(refused.err().contains("exit 17"), refused.err());
            } finally {
                for (long pid : startedByTheRa) {
                    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        }
    }
}
