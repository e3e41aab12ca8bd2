package io.repl.agent.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.agent.config.ConfigLoader;
import io.repl.agent.config.ResourceConfig;
import io.repl.core.replication.AfterSplitBrain;
import io.repl.core.replication.CoreConfig;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.OnCongestion;
import io.repl.core.replication.RateControl;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.protocol.DigestAlgorithm;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What the resource file says reaches the replication core: the core's tests (ScenarioTest,
 * FailoverScenarioTest) show what each value does there.
 */
class CoreDriverConfigTest {
    private static final String NODES = String.join("\n",
            "[net]", "shared-secret = \"s\"",
            "[node.alpha]", "address = \"10.0.0.1:7789\"", "disk = \"/dev/sdb\"",
            "[node.beta]", "address = \"10.0.0.2:7789\"", "disk = \"/dev/sdb\"", "");

    @TempDir
    Path dir;

    private ResourceConfig load(String toml) throws Exception {
        return new ConfigLoader().load(Files.writeString(dir.resolve("r0.toml"), toml));
    }

    @ParameterizedTest
    @EnumSource(ResourceConfig.Protocol.class)
    void theProtocolReachesTheCore(ResourceConfig.Protocol protocol) throws Exception {
        CoreConfig c = CoreDriver.coreConfig(load("protocol = \"" + protocol + "\"\n" + NODES));
        assertEquals(ReplicationProtocol.valueOf(protocol.name()), c.protocol());
        assertEquals("r0", c.resourceName());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "A, block, BLOCK",
        "B, block, BLOCK",
        "C, block, BLOCK",
        "A, pull-ahead, PULL_AHEAD",
    })
    void onCongestionReachesTheCore(String protocol, String spelled, OnCongestion expected) throws Exception {
        CoreConfig c = CoreDriver.coreConfig(load("protocol = \"" + protocol + "\"\n"
                + NODES.replace("[net]\n", "[net]\non-congestion = \"" + spelled + "\"\n")));
        assertEquals(expected, c.onCongestion());
        assertEquals(OnCongestion.BLOCK, CoreDriver.coreConfig(load(NODES)).onCongestion(), "block by default");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"crc32c, CRC32C", "sha256, SHA_256"})
    void verifyAlgReachesTheCore(String spelled, DigestAlgorithm expected) throws Exception {
        CoreConfig c = CoreDriver.coreConfig(load(NODES.replace("[net]\n", "[net]\nverify-alg = \"" + spelled + "\"\n")));
        assertEquals(expected, c.sync().verifyAlgorithm());
        assertEquals(DigestAlgorithm.CRC32C, CoreDriver.coreConfig(load(NODES)).sync().verifyAlgorithm(), "the default");
    }

    @Test
    void afterSplitBrainReachesTheCore() throws Exception {
        assertEquals(AfterSplitBrain.defaults(), CoreDriver.coreConfig(load(NODES)).sync().afterSplitBrain());
        CoreConfig c = CoreDriver.coreConfig(load(NODES.replace("[net]\n",
                "[net]\nafter-sb-0pri = \"discard-least-changes\"\nafter-sb-1pri = \"discard-secondary\"\n")));
        assertEquals(new AfterSplitBrain(AfterSplitBrain.ZeroPrimaries.DISCARD_LEAST_CHANGES,
                AfterSplitBrain.OnePrimary.DISCARD_SECONDARY, AfterSplitBrain.TwoPrimaries.DISCONNECT),
                c.sync().afterSplitBrain());
    }

    @Test
    void theResyncRateControllerReachesTheCore() throws Exception {
        CoreConfig c = CoreDriver.coreConfig(load(NODES.replace("[node.alpha]", "[disk]\nresync-rate-max = \"8M\"\n"
                + "resync-rate-min = \"1M\"\nc-plan-ahead = \"3s\"\nc-fill-target = \"1M\"\n[node.alpha]")));
        assertEquals(new RateControl(1L << 20, 8L << 20, 3_000_000_000L, 1L << 20, 0), c.sync().rate());
        assertEquals(RateControl.defaults(), CoreDriver.coreConfig(load(NODES)).sync().rate(), "the defaults");
    }

    @Test
    void withoutAProtocolTheCoreRunsC() throws Exception {
        assertEquals(ReplicationProtocol.C, CoreDriver.coreConfig(load(NODES)).protocol());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"detach, DETACH", "pass-on, PASS_ON"})
    void theOnIoErrorPolicyReachesTheCore(String spelled, CoreConfig.OnIoError expected) throws Exception {
        assertEquals(expected, CoreDriver.coreConfig(load("[disk]\non-io-error = \"" + spelled + "\"\n" + NODES))
                .onIoError());
    }

    @Test
    void csumsReachesTheCoresSyncPolicyAndIsOffByDefault() throws Exception {
        assertTrue(CoreDriver.coreConfig(load("[disk]\ncsums = true\n" + NODES)).sync().csums());
        assertFalse(CoreDriver.coreConfig(load("[disk]\ncsums = false\n" + NODES)).sync().csums());
        assertFalse(CoreDriver.coreConfig(load(NODES)).sync().csums());
    }

    @Test
    void withoutOnIoErrorTheCoreDetaches() throws Exception {
        assertEquals(CoreConfig.OnIoError.DETACH, CoreDriver.coreConfig(load(NODES)).onIoError());
    }

    @Test
    void anUnknownOnIoErrorIsRefusedNamingWhatIsAllowed() {
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
                () -> load("[disk]\non-io-error = \"call-admin\"\n" + NODES));
        assertTrue(e.getMessage().contains("disk.on-io-error") && e.getMessage().contains("detach, pass-on"),
                e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "outdate, OUTDATE",
        "resource-only, OUTDATE",
        "resource-and-stonith, RESOURCE_AND_STONITH",
        "dont-care, DONT_CARE",
    })
    void theFencingPolicyReachesTheCore(String spelled, FailoverPolicy.Fencing expected) throws Exception {
        ResourceConfig r = load("[disk]\nfencing = \"" + spelled + "\"\n[handlers]\nfence-peer = \"/bin/true\"\n"
                + NODES);
        FailoverPolicy p = CoreDriver.coreConfig(r).failover();
        assertEquals(expected, p.fencing());
        assertFalse(p.witness());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "suspend-io, SUSPEND_IO",
        "io-error, IO_ERROR",
    })
    void aWitnessAndItsOnNoQuorumReachTheCore(String spelled, FailoverPolicy.OnNoQuorum expected) throws Exception {
        ResourceConfig r = load(NODES + "[witness]\naddress = \"10.0.0.3:7790\"\non-no-quorum = \"" + spelled
                + "\"\n");
        FailoverPolicy p = CoreDriver.coreConfig(r).failover();
        assertTrue(p.witness());
        assertEquals(expected, p.onNoQuorum());
        assertEquals(FailoverPolicy.Fencing.OUTDATE, p.fencing());
    }
}
