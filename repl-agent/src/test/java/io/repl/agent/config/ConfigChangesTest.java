package io.repl.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigChangesTest {
    private static final String PAIR = String.join("\n",
            "protocol = \"C\"",
            "[net]",
            "shared-secret = \"s3cret\"",
            "[disk]",
            "resync-rate-max = \"100M\"",
            "[handlers]",
            "after-promote = \"/bin/true\"",
            "[node.alpha]",
            "address = \"10.0.0.1:7789\"",
            "disk = \"/dev/sdb\"",
            "[node.beta]",
            "address = \"10.0.0.2:7789\"",
            "disk = \"/dev/sdb\"",
            "");

    @TempDir
    Path dir;

    private ResourceConfig load(String toml) throws Exception {
        return new ConfigLoader().load(Files.writeString(dir.resolve("r0.toml"), toml));
    }

    private ConfigChanges changes(String from, String to) throws Exception {
        return ConfigChanges.between(load(PAIR), load(PAIR.replace(from, to)));
    }

    @Test
    void vetoHandlersAndTheirDeadlineApplyLiveTheBuiltInMountNeedsARestart() throws Exception {
        ConfigChanges v = changes("after-promote = \"/bin/true\"", "after-promote = \"/bin/true\"\n"
                + "before-promote = \"/bin/false\"\nbefore-timeout = \"10s\"");
        assertEquals(List.of(), v.restart());
        assertEquals(List.of("handlers.before-promote: (none) -> \"/bin/false\"", "handlers.before-timeout: PT1M -> PT10S"),
                v.live());
        ConfigChanges m = changes("after-promote = \"/bin/true\"", "after-promote = \"/bin/true\"\n"
                + "mount-device = \"/dev/nbd0\"\nmount-point = \"/srv\"");
        assertEquals(1, m.restart().size(), m.toString());
        assertTrue(m.restart().get(0).startsWith("handlers.mount-*: (none) -> "), m.toString());
    }

    @Test
    void theSameFileChangesNothing() throws Exception {
        assertTrue(ConfigChanges.between(load(PAIR), load(PAIR)).none());
    }

    @Test
    void handlersRatesCsumsVerifyAlgAndSplitBrainPoliciesApplyLive() throws Exception {
        ConfigChanges c = changes("resync-rate-max = \"100M\"", "resync-rate-max = \"8M\"\ncsums = true\n"
                + "c-fill-target = \"1M\"");
        assertEquals(List.of(), c.restart());
        assertEquals(3, c.live().size(), c.toString());
        assertTrue(c.live().get(0).startsWith("disk.csums: false -> true"), c.toString());
        assertTrue(c.live().contains("disk.resync-rate-max: 104857600 -> 8388608"), c.toString());
        ConfigChanges h = changes("after-promote = \"/bin/true\"", "after-demote = \"/bin/false\"");
        assertEquals(List.of("handlers.after-demote: (none) -> \"/bin/false\"",
                "handlers.after-promote: \"/bin/true\" -> (none)"), h.live());
        ConfigChanges n = changes("shared-secret = \"s3cret\"", "shared-secret = \"s3cret\"\nverify-alg = \"sha256\"\n"
                + "after-sb-0pri = \"discard-zero-changes\"");
        assertEquals(2, n.live().size(), n.toString());
        assertTrue(n.restart().isEmpty());
    }

    @Test
    void theProtocolTheLinkTheDiskAndTheNodesNeedDownAndUpAndASecretIsNeverShown() throws Exception {
        assertEquals(List.of("protocol: C -> A"), changes("protocol = \"C\"", "protocol = \"A\"").restart());
        ConfigChanges secret = changes("s3cret", "other-secret");
        assertEquals(List.of("net.shared-secret (changed)"), secret.restart());
        assertFalse(secret.toString().contains("other-secret"));
        assertEquals(List.of("net.ping-interval: PT10S -> PT2S"),
                changes("shared-secret = \"s3cret\"", "shared-secret = \"s3cret\"\nping-interval = \"2s\"").restart());
        ConfigChanges node = changes("address = \"10.0.0.2:7789\"\ndisk = \"/dev/sdb\"",
                "address = \"10.0.0.3:7789\"\ndisk = \"/dev/sdc\"");
        assertEquals(List.of("node.beta.address: 10.0.0.2:7789 -> 10.0.0.3:7789",
                "node.beta.disk: /dev/sdb -> /dev/sdc"), node.restart());
        // One change that needs down and up among live ones: both are listed, apart.
        ConfigChanges both = changes("protocol = \"C\"\n[net]\n", "protocol = \"B\"\n[net]\nverify-alg = \"sha256\"\n");
        assertEquals(List.of("protocol: C -> B"), both.restart());
        assertEquals(List.of("net.verify-alg: CRC32C -> SHA_256"), both.live());
    }
}
