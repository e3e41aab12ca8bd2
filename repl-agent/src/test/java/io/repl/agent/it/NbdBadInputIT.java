package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every bad-request rule of the NBD front end, checked against the real agent: what the
 * client sees, that the connection stays usable where the rule says so, that the bytes
 * around the request are unchanged, and that the agent stays up for other clients.
 */
class NbdBadInputIT {
    private static final long SIZE = 16L << 20;
    @TempDir
    static Path dir;
    static StandaloneFixture fx;
    private String hashBefore;
    /** A second client, open across every test, that must never be disturbed. */
    private NbdTestClient bystander;

    @BeforeAll
    static void start() throws Exception {
        fx = new StandaloneFixture(dir, SIZE, 42, "");
    }

    @AfterAll
    static void stop() throws Exception {
        fx.close();
    }

    @BeforeEach
    void snapshot() throws Exception {
        hashBefore = StandaloneFixture.sha256(fx.disk);
        bystander = NbdTestClient.open(fx.socket, "r0");
    }

    @AfterEach
    void agentStillServes() throws Exception {
        assertTrue(fx.agent.alive(), "agent died:\n" + fx.agent.log());
        byte[] b = new byte[4096];
        assertEquals(0, bystander.read(4096, b), "a bystander's read failed after the bad input");
        bystander.close();
        try (NbdTestClient fresh = NbdTestClient.open(fx.socket, "r0")) {
            assertEquals(0, fresh.read(0, b), "a new client cannot read after the bad input");
        }
    }

    private void assertVolumeUnchanged() throws Exception {
        assertEquals(hashBefore, StandaloneFixture.sha256(fx.disk), "the volume changed");
    }

    @Test
    void negotiationReportsSizeBlockSizesAndFlags() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(fx.socket, "r0")) {
            assertEquals(SIZE, c.exportSize);
            assertEquals(1, c.minBlock);
            assertEquals(4096, c.preferredBlock);
            assertEquals(32 << 20, c.maxBlock);
            int want = 1 | 4 | 8 | 32 | 64 | 256 | 2048; // flags, flush, fua, trim, zeroes, multi-conn, fast-zero
            assertEquals(want, c.transmissionFlags & want);
            assertEquals(0, c.transmissionFlags & 2, "export must not be read-only");
        }
    }

    @Test
    void readPastTheEndIsEinvalAndTheConnectionStaysUsable() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(fx.socket, "r0")) {
            byte[] b = new byte[8192];
            assertEquals(NbdTestClient.EINVAL, c.read(SIZE - 4096, b));
            assertEquals(NbdTestClient.EINVAL, c.read(SIZE, new byte[512]));
            assertEquals(NbdTestClient.EINVAL, c.read(Long.MAX_VALUE - 100, new byte[512]));
            // Offset that wraps around 2^64 when the length is added.
            c.request(0, NbdTestClient.CMD_READ, -4096L, 8192, null);
            assertEquals(NbdTestClient.EINVAL, c.reply(8192).error());
            assertEquals(0, c.read(SIZE - 4096, new byte[4096]));
        }
    }

    @Test
    void writePastTheEndIsEnospcAndWritesNothing() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(fx.socket, "r0")) {
            byte[] data = new byte[8192];
            Arrays.fill(data, (byte) 0x5a);
            assertEquals(NbdTestClient.ENOSPC, c.write(SIZE - 4096, data, 0));
            assertEquals(NbdTestClient.ENOSPC, c.write(SIZE, data, NbdTestClient.FLAG_FUA));
            assertEquals(NbdTestClient.ENOSPC, c.command(NbdTestClient.CMD_WRITE_ZEROES, 0, SIZE - 4096, 8192));
            assertEquals(NbdTestClient.EINVAL, c.command(NbdTestClient.CMD_TRIM, 0, SIZE - 4096, 8192));
            assertEquals(0, c.command(NbdTestClient.CMD_FLUSH, 0, 0, 0));
        }
        assertVolumeUnchanged();
    }

    @Test
    void zeroLengthTooLongUnknownCommandAndUnknownFlagsAreEinval() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(fx.socket, "r0")) {
            c.request(0, NbdTestClient.CMD_READ, 0, 0, null);
            assertEquals(NbdTestClient.EINVAL, c.reply(0).error());
            c.request(0, NbdTestClient.CMD_READ, 0, (32 << 20) + 4096, null);
            assertEquals(NbdTestClient.EINVAL, c.reply(0).error());
            assertEquals(NbdTestClient.EINVAL, c.command(99, 0, 0, 4096));
            assertEquals(NbdTestClient.EINVAL, c.command(7, 0, 0, 4096)); // BLOCK_STATUS, not negotiated
            assertEquals(NbdTestClient.EINVAL, c.write(0, new byte[4096], 0x8000));
            assertEquals(NbdTestClient.EINVAL, c.command(NbdTestClient.CMD_TRIM, NbdTestClient.FLAG_NO_HOLE, 0, 4096));
            assertEquals(NbdTestClient.EINVAL, c.command(NbdTestClient.CMD_WRITE_ZEROES, 0, 0, 0));
            assertEquals(0, c.read(0, new byte[4096]));
        }
        assertVolumeUnchanged();
    }

    @Test
    void badRequestMagicClosesOnlyThatConnection() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(fx.socket, "r0")) {
            ByteBuffer b = ByteBuffer.allocate(28);
            b.putInt(0x12345678).putShort((short) 0).putShort((short) 1).putLong(1).putLong(0).putInt(4096);
            // The header alone: a payload sent after it could meet a socket the server already
            // closed, which is the server's right and not what this test is about.
            c.sendRaw(b.array());
            assertTrue(c.closedByServer());
        }
        assertVolumeUnchanged();
    }

    @Test
    void writePayloadBeyondTheMaximumClosesTheConnectionAndWritesNothing() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(fx.socket, "r0")) {
            ByteBuffer b = ByteBuffer.allocate(28);
            b.putInt(NbdTestClient.REQUEST_MAGIC).putShort((short) 0).putShort((short) NbdTestClient.CMD_WRITE)
                    .putLong(1).putLong(0).putInt((32 << 20) + 512);
            c.sendRaw(b.array());
            assertTrue(c.closedByServer());
        }
        assertVolumeUnchanged();
    }

    @Test
    void truncatedWriteClosesWithoutWriting() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(fx.socket, "r0")) {
            ByteBuffer b = ByteBuffer.allocate(28 + 1000);
            b.putInt(NbdTestClient.REQUEST_MAGIC).putShort((short) 0).putShort((short) NbdTestClient.CMD_WRITE)
                    .putLong(1).putLong(0).putInt(4096);
            c.sendRaw(b.array());
        }
        // The server saw 1000 of 4096 payload bytes, then the end of the stream.
        try (NbdTestClient c = NbdTestClient.open(fx.socket, "r0")) {
            assertEquals(0, c.command(NbdTestClient.CMD_FLUSH, 0, 0, 0));
        }
        assertVolumeUnchanged();
    }

    @Test
    void unalignedWritesTouchOnlyTheirBytes() throws Exception {
        byte[] before = new byte[3 * 4096];
        byte[] data = new byte[5000];
        new Random(7).nextBytes(data);
        try (NbdTestClient c = NbdTestClient.open(fx.socket, "r0")) {
            assertEquals(0, c.read(8192, before));
            assertEquals(0, c.write(8192 + 1234, data, NbdTestClient.FLAG_FUA));
            byte[] after = new byte[3 * 4096];
            assertEquals(0, c.read(8192, after));
            byte[] expected = before.clone();
            System.arraycopy(data, 0, expected, 1234, data.length);
            assertArrayEquals(expected, after);
            byte[] middle = new byte[77];
            assertEquals(0, c.read(8192 + 1234 + 100, middle));
            assertArrayEquals(Arrays.copyOfRange(data, 100, 177), middle);
            assertEquals(0, c.command(NbdTestClient.CMD_WRITE_ZEROES, 0, 8192 + 10, 4096));
            assertEquals(0, c.read(8192, after));
            Arrays.fill(expected, 10, 10 + 4096, (byte) 0);
            assertArrayEquals(expected, after);
            // Put the bytes back so the volume-unchanged checks of other tests hold.
            assertEquals(0, c.write(8192, before, NbdTestClient.FLAG_FUA));
        }
        assertVolumeUnchanged();
    }

    @Test
    void fastZeroWhereTheFileSystemCanIsHonoured() throws Exception {
        try (NbdTestClient c = NbdTestClient.open(fx.socket, "r0")) {
            byte[] keep = new byte[65536];
            assertEquals(0, c.read(1 << 20, keep));
            int r = c.command(NbdTestClient.CMD_WRITE_ZEROES, NbdTestClient.FLAG_FAST_ZERO | NbdTestClient.FLAG_NO_HOLE,
                    1 << 20, 65536);
            assertTrue(r == 0 || r == 95, "FAST_ZERO answers success or ENOTSUP, got " + r);
            if (r == 0) {
                byte[] z = new byte[65536];
                assertEquals(0, c.read(1 << 20, z));
                assertArrayEquals(new byte[65536], z);
            }
            assertEquals(0, c.write(1 << 20, keep, NbdTestClient.FLAG_FUA));
        }
        assertVolumeUnchanged();
    }

    @Test
    void disconnectAfterPipelinedWritesCompletesThemFirst() throws Exception {
        byte[] keep = new byte[16 * 4096];
        try (NbdTestClient c = NbdTestClient.open(fx.socket, "r0")) {
            assertEquals(0, c.read(2 << 20, keep));
            byte[] data = new byte[4096];
            for (int i = 0; i < 16; i++) {
                Arrays.fill(data, (byte) i);
                c.request(0, NbdTestClient.CMD_WRITE, (2 << 20) + i * 4096L, 4096, data);
            }
            c.request(0, NbdTestClient.CMD_DISC, 0, 0, null);
            for (int i = 0; i < 16; i++) {
                assertEquals(0, c.reply(0).error());
            }
            assertTrue(c.closedByServer());
        }
        try (NbdTestClient c = NbdTestClient.open(fx.socket, "r0")) {
            byte[] got = new byte[4096];
            for (int i = 0; i < 16; i++) {
                assertEquals(0, c.read((2 << 20) + i * 4096L, got));
                byte[] want = new byte[4096];
                Arrays.fill(want, (byte) i);
                assertArrayEquals(want, got, "write " + i);
            }
            assertEquals(0, c.write(2 << 20, keep, NbdTestClient.FLAG_FUA));
        }
        assertVolumeUnchanged();
    }

    @Test
    void unknownOptionGetsUnsupAndNegotiationGoesOn() throws Exception {
        try (NbdTestClient c = NbdTestClient.connect(fx.socket)) {
            c.greet();
            c.sendOption(4242, new byte[] {1, 2, 3});
            NbdTestClient.OptionReply r = c.readOptionReply();
            assertEquals(0x80000001, r.type(), "ERR_UNSUP");
            c.sendOption(5, new byte[0]); // STARTTLS
            assertEquals(0x80000002, c.readOptionReply().type(), "ERR_POLICY");
            c.sendOption(3, new byte[] {9}); // LIST with data
            assertEquals(0x80000003, c.readOptionReply().type(), "ERR_INVALID");
            assertEquals(0x80000006, c.go("nope").type(), "ERR_UNKNOWN for an export that is not here");
            byte[] lie = ByteBuffer.allocate(8).putInt(1000).putShort((short) 0).array();
            c.sendOption(NbdTestClient.OPT_GO, Arrays.copyOf(lie, 6));
            assertEquals(0x80000003, c.readOptionReply().type(), "ERR_INVALID for a name longer than the option");
            assertEquals(NbdTestClient.REP_ACK, c.go("").type(), "the empty name is the default export");
            assertEquals(0, c.read(0, new byte[4096]));
        }
    }

    @Test
    void badClientFlagsOrHugeOptionsCloseTheConnection() throws Exception {
        try (NbdTestClient c = NbdTestClient.connect(fx.socket)) {
            c.readFully(18);
            c.sendRaw(ByteBuffer.allocate(4).putInt(0x80).array());
            assertTrue(c.closedByServer());
        }
        try (NbdTestClient c = NbdTestClient.connect(fx.socket)) {
            c.greet();
            c.sendRaw(ByteBuffer.allocate(16).putLong(NbdTestClient.IHAVEOPT).putInt(7).putInt(1 << 30).array());
            assertTrue(c.closedByServer());
        }
        try (NbdTestClient c = NbdTestClient.connect(fx.socket)) {
            c.greet();
            c.sendRaw(ByteBuffer.allocate(16).putLong(0x1122334455667788L).putInt(7).putInt(0).array());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void randomGarbageNeverHurtsTheAgentOrTheVolume() throws Exception {
        Random rnd = new Random(20261122);
        for (int i = 0; i < 200; i++) {
            try (NbdTestClient c = NbdTestClient.connect(fx.socket)) {
                if (i % 2 == 1) {
                    c.greet();
                    if (i % 4 == 3) {
                        c.go("r0");
                    }
                }
                byte[] junk = new byte[1 + rnd.nextInt(3000)];
                rnd.nextBytes(junk);
                if (i % 8 == 7 && junk.length >= 4) {
                    // Valid request magic, random rest: exercise the request paths too.
                    ByteBuffer.wrap(junk).putInt(NbdTestClient.REQUEST_MAGIC);
                    junk[6] = 0;
                    junk[7] = (byte) (rnd.nextBoolean() ? 0 : 3);
                }
                try {
                    c.sendRaw(junk);
                } catch (java.io.IOException closedAlready) {
                    // The server may hang up mid-send; that is an allowed answer to garbage.
                    continue;
                }
            }
        }
        assertVolumeUnchanged();
    }
}
