package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The promise that matters most: with protocol C, every write the Primary acknowledged is on
 * the Secondary when the Primary dies, and a Secondary that cannot know whether its peer
 * wrote alone is promoted only when the operator says --force (docs/FAILOVER.md).
 */
class FailoverIT {
    private static final int BLOCK = 4096;
    private static final int BLOCKS = 4096;
    private static final int DEPTH = 32;
    @TempDir
    Path dir;

    private static byte[] stamp(int block, long version) {
        ByteBuffer b = ByteBuffer.allocate(BLOCK);
        while (b.hasRemaining()) {
            b.putInt(block).putLong(version).putInt(~block);
        }
        return b.array();
    }

    /**
     * Random pipelined writes, each block stamped with its block number and a version; the
     * Primary's agent is killed with SIGKILL mid-stream. The Secondary lost it without a
     * goodbye, so a plain promotion is refused (17) with what it knows; --force promotes it, and
     * every block must hold at least the last acknowledged version (a later write that was in
     * flight may have landed too, never an older).
     */
    @Test
    void everyAcknowledgedWriteSurvivesAKilledPrimary() throws Exception {
        // Started inside the block, so that agents that fail to come up are still stopped.
        try (PairFixture p = new PairFixture(dir, 64L << 20, "C")) {
            p.startConnected().initialSync();
            long[] sentMax = new long[BLOCKS];
            AtomicLongArray acked = new AtomicLongArray(BLOCKS);
            Map<Long, long[]> inFlight = new ConcurrentHashMap<>();
            AtomicInteger acks = new AtomicInteger();
            Semaphore window = new Semaphore(DEPTH);
            NbdTestClient c = NbdTestClient.open(p.socket(p.alpha), "r0");
            Thread writer = new Thread(() -> {
                Random rnd = new Random(20261122);
                long version = 0;
                try {
                    while (true) {
                        window.acquire();
                        int block = rnd.nextInt(BLOCKS);
                        version++;
                        synchronized (sentMax) {
                            sentMax[block] = version;
                        }
                        long cookie = c.request(0, NbdTestClient.CMD_WRITE, (long) block * BLOCK, BLOCK,
                                stamp(block, version));
                        inFlight.put(cookie, new long[] {block, version});
                    }
                } catch (Exception stopped) {
                    // The Primary died under us: that is the point of the test.
                }
            });
            Thread reader = new Thread(() -> {
                try {
                    while (true) {
                        NbdTestClient.Reply r = c.reply(0);
                        long[] w = inFlight.remove(r.cookie());
                        while (w == null) {
                            // The writer records a cookie just after sending it; wait for that.
                            Thread.onSpinWait();
                            w = inFlight.remove(r.cookie());
                        }
                        if (r.error() == 0) {
                            int block = (int) w[0];
                            long v = w[1];
                            acked.accumulateAndGet(block, v, Math::max);
                            acks.incrementAndGet();
                        }
                        window.release();
                    }
                } catch (Exception stopped) {
                    // The connection died with the Primary.
                }
            });
            writer.start();
            reader.start();
            NbdClientsIT.waitFor(() -> acks.get() >= 3000, "3000 acknowledged writes");
            p.alpha.kill();
            reader.join(30_000);
            writer.interrupt();
            writer.join(30_000);
            c.close();
            int acknowledged = acks.get();

            NbdClientsIT.waitFor(() -> !"Connected".equals(p.status(p.beta).path("connection").asText()),
                    "beta to notice the Primary is gone");
            JsonNode lost = p.status(p.beta);
            assertEquals("Consistent", lost.path("disk").asText(), "lost its Primary without a goodbye: " + lost);
            assertTrue(lost.path("diskReason").asText().matches("lost alpha \\(.+\\) without a goodbye, at "
                    + "\\d\\d:\\d\\d:\\d\\d"), lost.toString());

            Cmd.Result refused = promote(p.beta);
            assertEquals(17, refused.exit(), "alpha may have written alone: " + refused.err());
            String why = refused.err();
            assertTrue(why.contains("lost alpha (") && why.contains("without a goodbye"), "how alpha was lost: " + why);
            assertTrue(why.contains("--force") && why.contains("would be lost"), "what --force risks: " + why);
            assertEquals("Secondary", p.status(p.beta).path("role").asText());

            promote(p.beta, "--force").ok();
            assertEquals("Primary", p.status(p.beta).path("role").asText());

            int checked = 0;
            try (NbdTestClient b = NbdTestClient.open(p.socket(p.beta), "r0")) {
                byte[] got = new byte[BLOCK];
                for (int block = 0; block < BLOCKS; block++) {
                    long want = acked.get(block);
                    if (want == 0) {
                        continue;
                    }
                    assertEquals(0, b.read((long) block * BLOCK, got));
                    ByteBuffer bb = ByteBuffer.wrap(got);
                    int stampedBlock = bb.getInt();
                    long version = bb.getLong();
                    assertEquals(block, stampedBlock, "block " + block + " holds another block's data");
                    long max;
                    synchronized (sentMax) {
                        max = sentMax[block];
                    }
                    assertTrue(version >= want && version <= max, "block " + block + ": acknowledged version "
                            + want + " but the new Primary holds version " + version + " (latest sent " + max + ")");
                    checked++;
                }
            }
            assertTrue(checked > 500, "checked " + checked + " blocks of " + acknowledged + " acknowledged writes");
        }
    }

    /**
     * SIGTERM is an orderly stop: the Primary drains its writes, demotes and says goodbye, so
     * the Secondary keeps UpToDate data and is promoted without --force, with every byte.
     */
    @Test
    void anOrderlyStopOfThePrimarySaysGoodbyeSoThePeerIsPromotedWithoutForce() throws Exception {
        try (PairFixture p = new PairFixture(dir, 64L << 20, "C")) {
            p.startConnected().initialSync();
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "write -P 0x5a 1M 3M").ok();
            int exit = p.alpha.stop();
            assertTrue(exit == 143 || exit == 0, "exit " + exit);
            assertTrue(p.alpha.log().contains("closing the connection (SHUTDOWN): going down"),
                    "alpha said goodbye before it went down:\n" + p.alpha.log());

            NbdClientsIT.waitFor(() -> !"Connected".equals(p.status(p.beta).path("connection").asText()),
                    "beta to see alpha go");
            JsonNode after = p.status(p.beta);
            assertEquals("UpToDate", after.path("disk").asText(), "a goodbye keeps the data UpToDate: " + after);
            assertTrue(after.path("diskReason").asText().startsWith("alpha said goodbye, at "), after.toString());

            promote(p.beta).ok();
            assertEquals("Primary", p.status(p.beta).path("role").asText());
            Cmd.Result read = Cmd.run("qemu-io", "-f", "raw", p.uri(p.beta), "-c", "read -P 0x5a 1M 3M").ok();
            assertFalse(read.out().contains("Pattern verification failed"), read.out());
        }
    }

    /**
     * fencing resource-and-stonith: a Primary that loses its peer acknowledges nothing more
     * until the fence-peer handler answers. This handler says "unreachable" (5), so the write
     * stays held, answered neither way, until the operator vouches with resume-io. The handler
     * sees who it runs for and where the peer is.
     */
    @Test
    void resourceAndStonithHoldsWritesUntilTheFenceHandlerOrTheOperatorReleasesThem() throws Exception {
        try (PairFixture p = new PairFixture(dir, 64L << 20, "C")) {
            Path seen = dir.resolve("fence-peer.env");
            Path handler = Files.writeString(dir.resolve("fence-peer.sh"), String.join("\n",
                    "#!/bin/sh",
                    "echo \"$REPL_RESOURCE $REPL_NODE $REPL_PEER $REPL_PEER_ADDRESS\" > " + seen,
                    "echo \"cannot reach $REPL_PEER\"",
                    "exit 5", ""));
            handler.toFile().setExecutable(true);
            for (AgentProcess a : new AgentProcess[] {p.alpha, p.beta}) {
                Path file = a.configDir.resolve("r0.toml");
                a.writeConfig("r0", Files.readString(file) + "[disk]\nfencing = \"resource-and-stonith\"\n"
                        + "[handlers]\nfence-peer = \"" + handler + "\"\n");
            }
            p.startConnected().initialSync();
            assertEquals("resource-and-stonith", p.status(p.alpha).path("fencing").asText());
            String betaAddress = Files.readString(p.alpha.configDir.resolve("r0.toml"))
                    .split("\\[node.beta\\]\naddress = \"")[1].split("\"")[0];

            p.beta.kill();
            NbdClientsIT.waitFor(() -> p.status(p.alpha).path("suspended").isObject(), "alpha to hold writes");
            NbdClientsIT.waitFor(() -> Files.exists(seen) && Files.readString(seen).endsWith("\n"),
                    "the fence-peer handler to run");
            assertEquals("r0 alpha beta " + betaAddress + "\n", Files.readString(seen));
            NbdClientsIT.waitFor(() -> p.alpha.log().contains("fence-peer exited 5"), "the handler's answer");
            JsonNode held = p.status(p.alpha);
            assertEquals("Primary", held.path("role").asText());
            assertTrue(held.path("suspended").path("reason").asText().contains("resume-io"), held.toString());
            assertTrue(held.path("suspended").path("since").asText().matches("\\d{4}-\\d\\d-\\d\\dT.*"),
                    held.toString());
            assertTrue(p.alpha.ctl("status", "r0").ok().out().contains("writes held since "));

            byte[] data = new byte[BLOCK];
            Arrays.fill(data, (byte) 0x3c);
            try (NbdTestClient c = NbdTestClient.open(p.socket(p.alpha), "r0")) {
                c.request(0, NbdTestClient.CMD_WRITE, 0, BLOCK, data);
                CompletableFuture<Integer> answered = CompletableFuture.supplyAsync(() -> {
                    try {
                        return c.reply(0, NbdTestClient.NO_TIMEOUT).error();
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                Thread.sleep(2_000);
                assertFalse(answered.isDone(), "a held write is answered neither way");

                p.alpha.ctl("resume-io", "r0").ok();
                assertEquals(0, answered.get(20, TimeUnit.SECONDS), "resume-io lets the held write go on alone");
            }
            assertTrue(p.status(p.alpha).path("suspended").isNull());
            Cmd.Result again = p.alpha.ctl("resume-io", "r0");
            assertEquals(11, again.exit(), "nothing is held any more: " + again.err());
        }
    }

    /**
     * With a witness the operator need not decide: the pair reports its generation while in
     * sync, and when the Primary is killed the witness grants the Secondary's promotion (no
     * --force) and records it as the only holder. Every acknowledged byte is there.
     */
    @Test
    void withAWitnessTheSecondaryOfAKilledPrimaryIsPromotedWithoutForce() throws Exception {
        int witnessPort = PairFixture.freePort();
        try (PairFixture p = new PairFixture(dir, 64L << 20, "C");
             AgentProcess witness = AgentProcess.witness(dir, null, "127.0.0.1", witnessPort)) {
            String file = Files.readString(p.alpha.configDir.resolve("r0.toml"))
                    + "[witness]\naddress = \"127.0.0.1:" + witnessPort + "\"\n";
            // The same file on all three machines, as in production.
            for (AgentProcess a : new AgentProcess[] {p.alpha, p.beta, witness}) {
                a.writeConfig("r0", file);
            }
            witness.start();
            p.startConnected().initialSync();
            NbdClientsIT.waitFor(() -> {
                JsonNode w = p.status(p.beta).path("quorum").path("witness");
                return w.path("reachable").asBoolean() && w.path("holders").size() == 2;
            }, "the witness to record the in-sync pair");
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "write -P 0x77 2M 2M", "-c", "flush").ok();

            p.alpha.kill();
            NbdClientsIT.waitFor(() -> !"Connected".equals(p.status(p.beta).path("connection").asText()),
                    "beta to notice the Primary is gone");
            assertEquals("Consistent", p.status(p.beta).path("disk").asText());
            Cmd.Result promoted = promote(p.beta);
            assertEquals(0, promoted.exit(), "the witness decides: " + promoted.err() + "\n" + p.beta.log());

            JsonNode beta = p.status(p.beta);
            assertEquals("Primary", beta.path("role").asText());
            JsonNode w = beta.path("quorum").path("witness");
            assertEquals("beta", w.path("holders").path(0).asText(), beta.toString());
            assertEquals(1, w.path("holders").size(), beta.toString());
            assertTrue(w.path("generation").asText().matches("[0-9A-F]{16}"), beta.toString());
            Cmd.Result read = Cmd.run("qemu-io", "-f", "raw", p.uri(p.beta), "-c", "read -P 0x77 2M 2M").ok();
            assertFalse(read.out().contains("Pattern verification failed"), read.out());
        }
    }

    /**
     * replctl outdate, as a fence-peer handler on the other node runs it: a disconnected
     * Secondary marks itself Outdated and says so; a Primary refuses.
     */
    @Test
    void outdateMarksADisconnectedSecondaryAndIsRefusedOnAPrimary() throws Exception {
        try (PairFixture p = new PairFixture(dir, 64L << 20, "C")) {
            p.startConnected().initialSync();
            Cmd.Result connected = p.beta.ctl("outdate", "r0");
            assertEquals(11, connected.exit(), "a connected Secondary is seen as it is: " + connected.err());

            p.beta.ctl("disconnect", "r0").ok();
            assertEquals("Consistent", p.status(p.beta).path("disk").asText(),
                    "an operator's disconnect is a loss without goodbye too");
            p.beta.ctl("outdate", "r0").ok();
            JsonNode beta = p.status(p.beta);
            assertEquals("Outdated", beta.path("disk").asText());
            assertTrue(beta.path("diskReason").asText().startsWith("outdated by replctl outdate, at "), beta.toString());
            assertTrue(p.beta.ctl("status", "r0").ok().out().contains("disk:Outdated (outdated by replctl outdate"));
            assertEquals(17, p.beta.ctl("primary", "r0").exit());

            Cmd.Result primary = p.alpha.ctl("outdate", "r0");
            assertEquals(11, primary.exit(), primary.err());
            assertTrue(primary.err().contains("a Primary cannot be outdated"), primary.err());
        }
    }

    /**
     * Promotion waits (exit 11) while writes received from the lost Primary are still being
     * applied; an operator retries, and so does this.
     */
    private static Cmd.Result promote(AgentProcess node, String... options) throws Exception {
        String[] argv = new String[options.length + 2];
        argv[0] = "primary";
        System.arraycopy(options, 0, argv, 1, options.length);
        argv[argv.length - 1] = "r0";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            Cmd.Result r = node.ctl(argv);
            if (r.exit() != 11 || System.nanoTime() - deadline > 0) {
                return r;
            }
            Thread.sleep(100);
        }
    }
}
