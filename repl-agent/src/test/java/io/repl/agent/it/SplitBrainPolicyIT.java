package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The after-split-brain policies with real agents: a split brain made the way an operator
 * makes one (disconnect, promote the other side with --force, write), then connect. Where the
 * policy's condition holds the victim becomes SyncTarget and both disks end identical with the
 * survivor's data; where it does not, both stay StandAlone with their own data.
 */
class SplitBrainPolicyIT {
    private static final long DISK = 64L << 20;
    @TempDir
    Path dir;

    /** A pair whose r0 has {@code policies} in [net] and a split-brain handler recording its environment. */
    private PairFixture pair(String policies) throws Exception {
        PairFixture p = new PairFixture(dir, DISK, "C");
        for (AgentProcess a : new AgentProcess[] {p.alpha, p.beta}) {
            Path seen = dir.resolve("split-brain-" + a.node + ".env");
            Path handler = Files.writeString(dir.resolve("split-brain-" + a.node + ".sh"), String.join("\n",
                    "#!/bin/sh", "env | grep '^REPL_' | sort > " + seen + ".tmp && mv " + seen + ".tmp " + seen, ""));
            handler.toFile().setExecutable(true);
            Path file = a.configDir.resolve("r0.toml");
            a.writeConfig("r0", Files.readString(file).replace("[net]\n", "[net]\n" + policies)
                    + "[handlers]\nsplit-brain = \"" + handler + "\"\n");
        }
        return p.startConnected().initialSync();
    }

    private static String handlerEnv(Path dir, AgentProcess a) throws Exception {
        Path seen = dir.resolve("split-brain-" + a.node + ".env");
        NbdClientsIT.waitFor(() -> Files.exists(seen), "the split-brain handler on " + a.node);
        return Files.readString(seen);
    }

    /** Both disconnect; beta is promoted with --force (a loss without goodbye leaves it only Consistent). */
    private static void split(PairFixture p) throws Exception {
        p.alpha.ctl("disconnect", "r0").ok();
        p.beta.ctl("disconnect", "r0").ok();
        NbdClientsIT.waitFor(() -> "StandAlone".equals(p.status(p.alpha).path("connection").asText())
                && "StandAlone".equals(p.status(p.beta).path("connection").asText()), "both StandAlone");
        p.beta.ctl("primary", "--force", "r0").ok();
    }

    private static void write(PairFixture p, AgentProcess a, String pattern, String offset) throws Exception {
        Cmd.run("qemu-io", "-f", "raw", p.uri(a), "-c", "write -P " + pattern + " " + offset + " 64k").ok();
    }

    private static boolean holds(PairFixture p, AgentProcess a, String pattern, String offset) throws Exception {
        Cmd.Result r = Cmd.run("qemu-io", "-r", "-f", "raw", p.uri(a), "-c", "read -P " + pattern + " " + offset + " 64k");
        return r.exit() == 0 && !r.out().contains("Pattern verification failed");
    }

    /** Whether the 64 KiB at {@code offset} of a backing file are all {@code value}. */
    private static boolean fileHolds(Path disk, byte value, long offset) throws Exception {
        try (var ch = java.nio.channels.FileChannel.open(disk)) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(64 << 10);
            ch.read(buf, offset);
            for (byte b : buf.array()) {
                if (b != value) {
                    return false;
                }
            }
            return true;
        }
    }

    private static void connectBoth(PairFixture p) throws Exception {
        p.alpha.ctl("connect", "r0").ok();
        p.beta.ctl("connect", "r0").ok();
    }

    @Test
    void discardZeroChangesResyncsTheSideThatWroteNothingFromTheOther() throws Exception {
        try (PairFixture p = pair("after-sb-0pri = \"discard-zero-changes\"\n")) {
            split(p);
            write(p, p.alpha, "0xaa", "0");
            write(p, p.alpha, "0xab", "4M");
            p.alpha.ctl("secondary", "r0").ok();
            p.beta.ctl("secondary", "r0").ok();
            connectBoth(p);
            p.waitSynced();
            long data = p.dataBytes();
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "both disks hold alpha's data");
            assertTrue(holds(p, p.beta, "0xaa", "0") && holds(p, p.beta, "0xab", "4M"));
            assertTrue(p.beta.log().contains("resolved by after-sb-0pri=discard-zero-changes"), p.beta.log());
            assertTrue(p.beta.log().contains("0 blocks changed here, 32 on alpha"), p.beta.log());
            String betaEnv = handlerEnv(dir, p.beta);
            assertTrue(betaEnv.contains("REPL_POLICY=after-sb-0pri=discard-zero-changes\n")
                    && betaEnv.contains("REPL_VICTIM=local\n") && betaEnv.contains("REPL_CHANGED_BLOCKS_LOCAL=0\n")
                    && betaEnv.contains("REPL_CHANGED_BLOCKS_PEER=32\n"), betaEnv);
            assertTrue(handlerEnv(dir, p.alpha).contains("REPL_VICTIM=peer\n"));
        }
    }

    @Test
    void discardSecondaryResyncsTheSecondaryFromThePrimaryWhateverItWrote() throws Exception {
        try (PairFixture p = pair("after-sb-1pri = \"discard-secondary\"\n")) {
            split(p);
            write(p, p.alpha, "0xaa", "0");
            // Beta writes more than alpha, then steps down: it is the Secondary, so it loses.
            write(p, p.beta, "0xbb", "1M");
            write(p, p.beta, "0xbc", "2M");
            p.beta.ctl("secondary", "r0").ok();
            connectBoth(p);
            p.waitSynced();
            long data = p.dataBytes();
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data));
            assertEquals("Primary", p.status(p.alpha).path("role").asText());
            assertTrue(holds(p, p.beta, "0xaa", "0"), "the Primary's write reached beta");
            assertTrue(holds(p, p.beta, "0x00", "1M") && holds(p, p.beta, "0x00", "2M"),
                    "beta's own writes were discarded");
            assertTrue(p.alpha.log().contains("resolved by after-sb-1pri=discard-secondary"), p.alpha.log());
            assertTrue(handlerEnv(dir, p.alpha).contains("REPL_VICTIM=peer\n"));
        }
    }

    @Test
    void consensusLeavesTheSplitBrainToTheOperatorWhenItWouldDiscardThePrimary() throws Exception {
        try (PairFixture p = pair("after-sb-0pri = \"discard-zero-changes\"\nafter-sb-1pri = \"consensus\"\n")) {
            split(p);
            // The Primary (alpha) wrote nothing, the Secondary (beta) did: zero-changes would
            // discard the Primary, which consensus never does.
            write(p, p.beta, "0xbb", "1M");
            p.beta.ctl("secondary", "r0").ok();
            connectBoth(p);
            NbdClientsIT.waitFor(() -> p.alpha.log().contains("split brain") && p.beta.log().contains("split brain")
                    && "StandAlone".equals(p.status(p.alpha).path("connection").asText())
                    && "StandAlone".equals(p.status(p.beta).path("connection").asText()), "both to stay apart");
            assertTrue(fileHolds(p.disk(p.beta), (byte) 0xbb, 1 << 20), "beta's disk keeps its own write");
            assertTrue(fileHolds(p.disk(p.alpha), (byte) 0, 1 << 20), "alpha's disk never got it");
            long data = p.dataBytes();
            assertNotEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data));
            String env = handlerEnv(dir, p.alpha);
            assertTrue(env.contains("REPL_POLICY=after-sb-1pri=consensus with after-sb-0pri=discard-zero-changes\n")
                    && !env.contains("REPL_VICTIM"), env);
        }
    }
}
