package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disks that fail under real agents: a metadata device whose writes start failing, and a data
 * disk whose flushes do, both served by nbdkit behind nbdfuse ({@link FaultyDevice}). The
 * resource ends with its disk Failed and the reason in its status, every request is answered,
 * every acknowledged write is on the peer, which is promoted without --force, and the agent
 * and its other resource go on serving.
 */
class DiskFaultIT {
    private static final long DISK = 64L << 20;
    private static final int BLOCK = 4096;
    /** The activity log's extents are 4 MiB: one write per extent makes each need a transaction. */
    private static final long EXTENT = 4L << 20;
    private static final int EIO = 5;
    private final ObjectMapper json = new ObjectMapper();
    @TempDir
    Path dir;

    private AgentProcess alpha;
    private AgentProcess beta;
    private FaultyDevice device;
    /** A second failing device (alpha's metadata, beside its data disk), closed with the first. */
    private FaultyDevice metaDevice;

    @BeforeEach
    void agents() throws Exception {
        alpha = new AgentProcess(dir, "alpha");
        beta = new AgentProcess(dir, "beta");
    }

    /** The agents stop before the failing device goes. */
    @AfterEach
    void stop() throws Exception {
        alpha.close();
        beta.close();
        if (device != null) {
            device.close();
        }
        if (metaDevice != null) {
            metaDevice.close();
        }
    }

    /** r0 with alpha's data disk on a {@link FaultyDevice} of {@code bytes}, in sync, alpha Primary. */
    private FaultyDevice inSyncOnFaultyData(long bytes) throws Exception {
        device = FaultyDevice.start(dir, "alpha-r0-data", bytes);
        resource("r0", PairFixture.freePort(), PairFixture.freePort(), device.file, bytes, null);
        startInSync("r0");
        return device;
    }

    /**
     * A resource on both nodes; {@code alphaDisk} null means a plain file; {@code alphaMeta} null
     * means internal metadata on both, else alpha's is there and beta's in a plain file.
     */
    private void resource(String name, int portA, int portB, Path alphaDisk, long diskBytes, Path alphaMeta)
            throws Exception {
        for (AgentProcess a : new AgentProcess[] {alpha, beta}) {
            Path plain = dir.resolve(a.node + "-" + name + ".img");
            if (a == beta || alphaDisk == null) {
                try (var ch = java.nio.channels.FileChannel.open(plain, java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.WRITE)) {
                    ch.write(ByteBuffer.wrap(new byte[1]), diskBytes - 1);
                }
            }
            a.writeConfig(name, String.join("\n",
                    "protocol = \"C\"",
                    "[net]",
                    "shared-secret = \"s3cret\"",
                    "connect-retry = \"200ms\"",
                    "[node.alpha]",
                    "address = \"127.0.0.1:" + portA + "\"",
                    "disk = \"" + (alphaDisk == null ? dir.resolve("alpha-" + name + ".img") : alphaDisk) + "\"",
                    alphaMeta == null ? "" : "meta-disk = \"" + alphaMeta + "\"",
                    "nbd-socket = \"" + socket(alpha, name) + "\"",
                    "[node.beta]",
                    "address = \"127.0.0.1:" + portB + "\"",
                    "disk = \"" + dir.resolve("beta-" + name + ".img") + "\"",
                    // Both external or both internal: the data areas must be the same size.
                    alphaMeta == null ? "" : "meta-disk = \"" + dir.resolve("beta-" + name + ".meta") + "\"",
                    "nbd-socket = \"" + socket(beta, name) + "\"",
                    ""));
        }
    }

    private Path socket(AgentProcess a, String resource) {
        return dir.resolve(a.node + "-" + resource + ".nbd");
    }

    /** Both agents up on {@code resources}, declared in sync (all disks are zeroes), alpha Primary. */
    private void startInSync(String... resources) throws Exception {
        alpha.start();
        beta.start();
        for (String r : resources) {
            for (AgentProcess a : new AgentProcess[] {alpha, beta}) {
                a.ctl("create-md", r).ok();
                a.ctl("up", r).ok();
            }
            Cmd.Result connected = alpha.ctl("wait-connect", r, "--timeout", "60");
            if (connected.exit() != 0) {
                throw new AssertionError(r + " did not connect: " + connected.err() + "\n--- alpha ---\n"
                        + alpha.log() + "\n--- beta ---\n" + beta.log());
            }
            alpha.ctl("new-current-uuid", "--clear-bitmap", r).ok();
            alpha.ctl("wait-sync", r, "--timeout", "60").ok();
            alpha.ctl("primary", r).ok();
        }
    }

    private JsonNode status(AgentProcess a, String resource) throws Exception {
        return json.readTree(a.ctl("status", "--json", resource).ok().out()).path("resources").get(0);
    }

    /** A block that names its offset and version, so any block read back can be checked. */
    private static byte[] pattern(long offset, int version) {
        ByteBuffer b = ByteBuffer.allocate(BLOCK);
        while (b.hasRemaining()) {
            b.putLong(offset).putInt(version).putInt(0x5eed);
        }
        return b.array();
    }

    /** One write into each extent from {@code firstExtent}; returns what was acknowledged (offset to data). */
    private static Map<Long, byte[]> writeAcrossExtents(NbdTestClient c, int firstExtent, int count, int version,
                                                        List<Integer> errors) throws Exception {
        Map<Long, byte[]> acked = new LinkedHashMap<>();
        for (int e = firstExtent; e < firstExtent + count; e++) {
            long offset = e * EXTENT + version * BLOCK;
            byte[] data = pattern(offset, version);
            int error = c.write(offset, data, 0);
            errors.add(error);
            if (error == 0) {
                acked.put(offset, data);
            }
        }
        return acked;
    }

    private void promoteBetaAndCheck(String resource, Map<Long, byte[]> acked) throws Exception {
        NbdClientsIT.waitFor(() -> !"Connected".equals(status(beta, resource).path("connection").asText()),
                "beta sees alpha's resource close");
        assertEquals("UpToDate", status(beta, resource).path("disk").asText(),
                "alpha's goodbye keeps beta UpToDate: " + status(beta, resource));
        beta.ctl("primary", resource).ok();
        try (NbdTestClient b = NbdTestClient.open(socket(beta, resource), resource)) {
            for (Map.Entry<Long, byte[]> e : acked.entrySet()) {
                byte[] got = new byte[BLOCK];
                assertEquals(0, b.read(e.getKey(), got));
                assertArrayEquals(e.getValue(), got, "acknowledged block at " + e.getKey() + " is on beta");
            }
        }
    }

    @Test
    void aFailingMetadataDeviceFailsTheDiskLosesNoAcknowledgedWriteAndSparesTheOtherResource() throws Exception {
        FaultyDevice meta = FaultyDevice.start(dir, "alpha-r0-meta", 8L << 20);
        device = meta;
        resource("r0", PairFixture.freePort(), PairFixture.freePort(), null, DISK, meta.file);
        resource("r1", PairFixture.freePort(), PairFixture.freePort(), null, DISK, null);
        startInSync("r0", "r1");
        Map<Long, byte[]> acked = new LinkedHashMap<>();
        List<Integer> errors = new ArrayList<>();
        try (NbdTestClient c = NbdTestClient.open(socket(alpha, "r0"), "r0")) {
            acked.putAll(writeAcrossExtents(c, 0, 8, 1, errors));
            assertEquals(8, acked.size(), "a healthy device acknowledges every write: " + errors);

            meta.failWrites(true);
            errors.clear();
            acked.putAll(writeAcrossExtents(c, 8, 8, 2, errors));
            assertTrue(errors.contains(EIO), "a write whose activity-log transaction failed gets EIO: " + errors);
            NbdClientsIT.waitFor(() -> "Failed".equals(status(alpha, "r0").path("disk").asText()),
                    "alpha's r0 disk Failed");
            JsonNode r0 = status(alpha, "r0");
            assertTrue(r0.path("diskReason").asText().contains("metadata"), r0.toString());
            assertEquals("Secondary", r0.path("role").asText(), "a Primary without its disk demotes");
            assertEquals(EIO, c.write(15 * EXTENT, pattern(15 * EXTENT, 3), 0), "later writes: EIO, no hang");
        }
        assertTrue(alpha.alive(), "the agent runs on");
        // The other resource of the same agent serves on.
        try (NbdTestClient c = NbdTestClient.open(socket(alpha, "r1"), "r1")) {
            byte[] data = pattern(EXTENT, 9);
            assertEquals(0, c.write(EXTENT, data, 0));
            assertEquals(0, c.command(NbdTestClient.CMD_FLUSH, 0, 0, 0));
            byte[] got = new byte[BLOCK];
            assertEquals(0, c.read(EXTENT, got));
            assertArrayEquals(data, got);
        }
        JsonNode r1 = status(alpha, "r1");
        assertEquals("UpToDate", r1.path("disk").asText(), r1.toString());
        assertEquals("Primary", r1.path("role").asText());
        promoteBetaAndCheck("r0", acked);
        System.out.println("[DiskFaultIT] metadata: " + acked.size() + " writes acknowledged, all on beta; "
                + "alpha r0 " + status(alpha, "r0").path("diskReason").asText());
    }

    @Test
    void aFailingFlushAnswersTheClientsFlushWithEioAndHandsOverToThePeer() throws Exception {
        FaultyDevice disk = inSyncOnFaultyData(16L << 20);
        Map<Long, byte[]> acked = new LinkedHashMap<>();
        try (NbdTestClient c = NbdTestClient.open(socket(alpha, "r0"), "r0")) {
            for (int i = 0; i < 16; i++) {
                long offset = (long) i * 16 * BLOCK;
                byte[] data = pattern(offset, 1);
                assertEquals(0, c.write(offset, data, 0));
                acked.put(offset, data);
            }
            assertEquals(0, c.command(NbdTestClient.CMD_FLUSH, 0, 0, 0), "a flush on a healthy disk");

            disk.failFlushes(true);
            assertEquals(EIO, c.command(NbdTestClient.CMD_FLUSH, 0, 0, 0), "a failed flush is not reported durable");
            NbdClientsIT.waitFor(() -> "Failed".equals(status(alpha, "r0").path("disk").asText()),
                    "alpha's disk Failed");
            JsonNode r0 = status(alpha, "r0");
            assertTrue(r0.path("diskReason").asText().contains("flush"), r0.toString());
            assertEquals(EIO, c.write(0, pattern(0, 2), 0), "later writes: EIO");
            assertEquals(EIO, c.command(NbdTestClient.CMD_FLUSH, 0, 0, 0), "later flushes: EIO, no hang");
        }
        assertTrue(alpha.alive());
        promoteBetaAndCheck("r0", acked);
        assertNotEquals("Primary", status(alpha, "r0").path("role").asText());
        System.out.println("[DiskFaultIT] flush: " + acked.size() + " writes acknowledged, all on beta; "
                + "alpha r0 " + status(alpha, "r0").path("diskReason").asText());
    }

    @Test
    void downWithWritesStuckAtTheDiskCompletesReleasesTheDiskAndLeavesItToRecover() throws Exception {
        FaultyDevice disk = inSyncOnFaultyData(16L << 20);
        try (NbdTestClient c = NbdTestClient.open(socket(alpha, "r0"), "r0")) {
            assertEquals(0, c.write(0, pattern(0, 1), 0));
            // Writes that take longer at the disk than down waits for them (10 s).
            disk.slowWrites(6);
            long begun = disk.writesBegun();
            for (int i = 1; i <= 3; i++) {
                c.request(0, NbdTestClient.CMD_WRITE, (long) i * BLOCK, BLOCK, pattern((long) i * BLOCK, 1));
            }
            NbdClientsIT.waitFor(() -> disk.writesBegun() > begun, "a write reached the disk");
            Cmd.Result down = alpha.ctl("down", "r0");
            assertEquals(0, down.exit(), "down completes with writes stuck at the disk: " + down.err());
        }
        disk.slowWrites(0);
        assertTrue(alpha.log().contains("the next start recovers as after a crash"), "not a clean stop");
        // The disk is free: another opener takes it, and so does the agent again.
        Cmd.run("qemu-io", "-f", "raw", "-c", "read 0 4k", disk.file.toString()).ok();
        JsonNode md = json.readTree(alpha.ctl("dump-md", "r0").ok().out());
        assertFalse(md.path("flags").toString().contains("al-clean"), "the activity log is replayed: " + md);
        alpha.ctl("up", "r0").ok();
        alpha.ctl("wait-connect", "r0", "--timeout", "60").ok();
        NbdClientsIT.waitFor(() -> "UpToDate".equals(status(alpha, "r0").path("disk").asText())
                && "Established".equals(status(alpha, "r0").path("replication").asText()), "alpha back in sync");
        assertTrue(alpha.alive());
    }

    /** Writes {@code count} verified blocks spread over the disk; every one must be acknowledged. */
    private static Map<Long, byte[]> writeBlocks(NbdTestClient c, int count, int version, long span) throws Exception {
        Map<Long, byte[]> acked = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            long offset = (i * (span / count)) / BLOCK * BLOCK;
            byte[] data = pattern(offset, version);
            assertEquals(0, c.write(offset, data, 0), "write " + version + " at " + offset);
            acked.put(offset, data);
        }
        return acked;
    }

    private static void readBack(NbdTestClient c, Map<Long, byte[]> acked, String through) throws Exception {
        for (Map.Entry<Long, byte[]> e : acked.entrySet()) {
            byte[] got = new byte[BLOCK];
            assertEquals(0, c.read(e.getKey(), got), "read at " + e.getKey() + " " + through);
            assertArrayEquals(e.getValue(), got, "acknowledged block at " + e.getKey() + " read " + through);
        }
    }

    /** A hash of the whole export as {@code a} serves it (a Secondary serves it read-only). */
    private String exportHash(AgentProcess a, String resource) throws Exception {
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        try (NbdTestClient c = NbdTestClient.open(socket(a, resource), resource)) {
            for (long at = 0; at < c.exportSize; at += 64 * 1024) {
                byte[] chunk = new byte[(int) Math.min(64 * 1024, c.exportSize - at)];
                assertEquals(0, c.read(at, chunk), a.node + " reads " + at);
                sha.update(chunk);
            }
        }
        return java.util.HexFormat.of().formatHex(sha.digest());
    }

    private void awaitInSync(String resource) throws Exception {
        for (AgentProcess a : new AgentProcess[] {alpha, beta}) {
            NbdClientsIT.waitFor(() -> {
                JsonNode st = status(a, resource);
                return "UpToDate".equals(st.path("disk").asText()) && "Established".equals(st.path("replication").asText())
                        && "UpToDate".equals(st.path("peer").path("disk").asText());
            }, a.node + " in sync again");
        }
    }

    @Test
    void eioOnThePrimarysDataDiskDetachesItWhichServesThroughThePeerAndResyncsAfterAttach() throws Exception {
        FaultyDevice disk = inSyncOnFaultyData(16L << 20);
        Map<Long, byte[]> acked = new LinkedHashMap<>();
        try (NbdTestClient c = NbdTestClient.open(socket(alpha, "r0"), "r0")) {
            acked.putAll(writeBlocks(c, 32, 1, 12L << 20));
            disk.failWrites(true);
            // on-io-error = detach (the default): the first failed write detaches the disk; it
            // and every later one are acknowledged once on the peer.
            acked.putAll(writeBlocks(c, 32, 2, 12L << 20));
            JsonNode st = status(alpha, "r0");
            assertEquals("Diskless", st.path("disk").asText(), st.toString());
            assertEquals("Primary", st.path("role").asText(), "a Diskless Primary goes on serving: " + st);
            assertTrue(st.path("diskReason").asText().contains("local write"), st.toString());
            assertTrue(alpha.log().contains("local-io-error") || alpha.log().contains("detaching the data disk"),
                    "the detach is logged");
            assertEquals(0, c.command(NbdTestClient.CMD_FLUSH, 0, 0, 0), "a flush through the peer");
            readBack(c, acked, "through the Diskless Primary");
            acked.putAll(writeBlocks(c, 16, 3, 12L << 20));
            readBack(c, acked, "through the Diskless Primary, after more writes");

            disk.failWrites(false);
            alpha.ctl("attach", "r0").ok();
            acked.putAll(writeBlocks(c, 16, 4, 12L << 20));
            awaitInSync("r0");
            assertEquals("Primary", status(alpha, "r0").path("role").asText());
            readBack(c, acked, "from alpha's resynced disk");
        }
        String a = exportHash(alpha, "r0");
        assertEquals(a, exportHash(beta, "r0"), "both data areas hash equal after the resync");
        assertTrue(alpha.alive() && beta.alive());
        System.out.println("[DiskFaultIT] primary detach: " + acked.size() + " blocks acknowledged and read back;"
                + " data areas equal (" + a.substring(0, 16) + ")");
    }

    /**
     * alpha's metadata device fails, then its data disk: it detaches and serves through beta,
     * but its disk never records the detach. The operator disconnects, alpha is killed and
     * brought up on the repaired devices: its disk says Consistent in the generation the pair
     * shared, yet it must become the resync target of everything written through beta, not
     * overwrite beta with its stale copy.
     */
    @Test
    void aDetachedDiskThatCouldNotRecordItComesBackAfterAKillAsTheResyncTarget() throws Exception {
        long bytes = 16L << 20;
        device = FaultyDevice.start(dir, "alpha-r0-data", bytes);
        metaDevice = FaultyDevice.start(dir, "alpha-r0-meta", 8L << 20);
        resource("r0", PairFixture.freePort(), PairFixture.freePort(), device.file, bytes, metaDevice.file);
        startInSync("r0");
        Map<Long, byte[]> acked = new LinkedHashMap<>();
        try (NbdTestClient c = NbdTestClient.open(socket(alpha, "r0"), "r0")) {
            // Within the first extent, so that no activity-log transaction is needed below.
            acked.putAll(writeBlocks(c, 8, 1, EXTENT));
            metaDevice.failWrites(true);
            device.failWrites(true);
            acked.putAll(writeBlocks(c, 8, 2, EXTENT));
            JsonNode st = status(alpha, "r0");
            assertEquals("Diskless", st.path("disk").asText(), st.toString());
            assertEquals("Primary", st.path("role").asText(), st.toString());
            // Through beta only, across the whole disk: extents alpha's activity log never held.
            acked.putAll(writeBlocks(c, 16, 3, bytes));
            readBack(c, acked, "through the Diskless Primary");
        }
        assertTrue(beta.log().contains("Primary without a disk: new generation"), beta.log());
        beta.ctl("disconnect", "r0").ok();
        alpha.kill();
        metaDevice.failWrites(false);
        device.failWrites(false);
        alpha.start();
        alpha.ctlNow("up", "r0", Map.of());
        beta.ctl("connect", "r0").ok();
        awaitInSync("r0");
        assertTrue(alpha.log().contains("SYNC_TARGET"), "alpha's old disk is the resync target:\n" + alpha.log());
        beta.ctl("primary", "r0").ok();
        try (NbdTestClient b = NbdTestClient.open(socket(beta, "r0"), "r0")) {
            readBack(b, acked, "on beta after alpha came back");
        }
        String a = exportHash(alpha, "r0");
        assertEquals(a, exportHash(beta, "r0"), "both data areas hash equal after the resync");
        System.out.println("[DiskFaultIT] detach with failed metadata, kill, restart: " + acked.size()
                + " acknowledged blocks on beta, alpha resynced as target (" + a.substring(0, 16) + ")");
    }

    @Test
    void eioOnTheSecondarysDataDiskLeavesThePrimaryWritingAloneUntilAttachResyncsIt() throws Exception {
        FaultyDevice disk = inSyncOnFaultyData(16L << 20);
        // The failing disk is alpha's: make alpha the Secondary.
        alpha.ctl("secondary", "r0").ok();
        beta.ctl("primary", "r0").ok();
        Map<Long, byte[]> acked = new LinkedHashMap<>();
        try (NbdTestClient c = NbdTestClient.open(socket(beta, "r0"), "r0")) {
            acked.putAll(writeBlocks(c, 32, 1, 12L << 20));
            disk.failWrites(true);
            acked.putAll(writeBlocks(c, 32, 2, 12L << 20));
            NbdClientsIT.waitFor(() -> "Diskless".equals(status(alpha, "r0").path("disk").asText()),
                    "alpha detaches its failing disk");
            JsonNode b = status(beta, "r0");
            assertEquals("Diskless", b.path("peer").path("disk").asText(), b.toString());
            acked.putAll(writeBlocks(c, 16, 3, 12L << 20));
            assertTrue(status(beta, "r0").path("outOfSyncBytes").asLong() > 0,
                    "the Primary records what alpha misses: " + status(beta, "r0"));
            readBack(c, acked, "on the Primary, alone");

            disk.failWrites(false);
            alpha.ctl("attach", "r0").ok();
            awaitInSync("r0");
            readBack(c, acked, "on the Primary after the resync");
        }
        String h = exportHash(beta, "r0");
        assertEquals(h, exportHash(alpha, "r0"), "both data areas hash equal after the resync");
        System.out.println("[DiskFaultIT] secondary detach: " + acked.size() + " blocks acknowledged; data areas equal");
    }

    @Test
    void theOperatorDetachesAndAttachesAHealthyDiskButNeverTheLastCurrentCopy() throws Exception {
        resource("r0", PairFixture.freePort(), PairFixture.freePort(), null, 16L << 20, null);
        startInSync("r0");
        Map<Long, byte[]> acked = new LinkedHashMap<>();
        try (NbdTestClient c = NbdTestClient.open(socket(alpha, "r0"), "r0")) {
            acked.putAll(writeBlocks(c, 16, 1, 12L << 20));
            beta.ctl("detach", "r0").ok();
            NbdClientsIT.waitFor(() -> "Diskless".equals(status(alpha, "r0").path("peer").path("disk").asText()),
                    "alpha sees beta Diskless");
            assertTrue(status(beta, "r0").path("diskReason").asText().contains("detached by the operator"),
                    status(beta, "r0").toString());
            acked.putAll(writeBlocks(c, 16, 2, 12L << 20));
            // Alpha holds the only current copy now: it may not drop it.
            Cmd.Result refused = alpha.ctl("detach", "r0");
            assertEquals(11, refused.exit(), refused.out() + refused.err());
            assertTrue(refused.err().contains("only good copy"), refused.err());
            assertEquals("UpToDate", status(alpha, "r0").path("disk").asText());
            beta.ctl("attach", "r0").ok();
            awaitInSync("r0");
            // And back the other way: the Primary detaches, and goes on through beta.
            alpha.ctl("detach", "r0").ok();
            assertEquals("Diskless", status(alpha, "r0").path("disk").asText());
            acked.putAll(writeBlocks(c, 16, 3, 12L << 20));
            readBack(c, acked, "through the Primary the operator detached");
            alpha.ctl("attach", "r0").ok();
            awaitInSync("r0");
            readBack(c, acked, "after both attached again");
        }
        assertEquals(exportHash(alpha, "r0"), exportHash(beta, "r0"), "both data areas hash equal");
    }
}
