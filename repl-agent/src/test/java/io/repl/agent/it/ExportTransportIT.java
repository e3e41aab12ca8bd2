package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the export is reachable, on what kind of disk, and how it treats a greedy client. */
class ExportTransportIT {
    @TempDir
    Path dir;

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Listening TCP sockets of a process, from /proc/net/tcp{,6} and its fd links. */
    private static boolean listensOnTcp(long pid) throws Exception {
        Cmd.Result r = Cmd.run("ss", "-Hltnp");
        return r.ok().out().contains("pid=" + pid + ",");
    }

    @Test
    void tcpOnlyWhenConfiguredAndSocketsAreNotWorldAccessible() throws Exception {
        Path disk = dir.resolve("d.img");
        StandaloneFixture.fillRandom(disk, 8L << 20, 4);
        Path sock = dir.resolve("r0.nbd");
        try (AgentProcess a = new AgentProcess(dir, "alpha")) {
            a.writeConfig("r0", "[node.alpha]\nmeta-disk = \"none\"\ndisk = \"" + disk + "\"\nnbd-socket = \"" + sock + "\"\n");
            a.start();
            assertFalse(listensOnTcp(a.pid()), "no TCP listener unless nbd-listen is set");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(a.controlSocket)));
            assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
        }
        int port = freePort();
        Path dir2 = Files.createDirectories(dir.resolve("tcp"));
        try (AgentProcess a = new AgentProcess(dir2, "alpha")) {
            a.writeConfig("r0", "[node.alpha]\nmeta-disk = \"none\"\ndisk = \"" + disk + "\"\nnbd-socket = \"" + sock + "\"\n"
                    + "nbd-listen = \"127.0.0.1:" + port + "\"\n");
            a.start();
            assertTrue(listensOnTcp(a.pid()));
            String size = Cmd.run("nbdinfo", "--size", "nbd://127.0.0.1:" + port + "/r0").ok().out().trim();
            assertEquals(String.valueOf(8L << 20), size);
            Cmd.run("qemu-io", "-f", "raw", "nbd://127.0.0.1:" + port + "/r0", "-c", "write -P 0x3c 0 64k",
                    "-c", "read -P 0x3c 0 64k").ok();
        }
    }

    @Test
    void aLoopBlockDeviceServesWithItsIoctlSize() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for losetup");
        Path file = dir.resolve("backing.img");
        StandaloneFixture.fillRandom(file, 24L << 20, 6);
        String loop = Cmd.run("losetup", "-f", "--show", file.toString()).ok().out().trim();
        try (AgentProcess a = new AgentProcess(dir, "alpha")) {
            Path sock = dir.resolve("r0.nbd");
            a.writeConfig("r0", "[node.alpha]\nmeta-disk = \"none\"\ndisk = \"" + loop + "\"\nnbd-socket = \"" + sock + "\"\n");
            a.start();
            String uri = "nbd+unix:///r0?socket=" + sock;
            assertEquals(String.valueOf(24L << 20), Cmd.run("nbdinfo", "--size", uri).ok().out().trim());
            assertTrue(a.log().contains("block device " + loop), a.log());
            Cmd.run("fio", "--name=blk", "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite", "--bs=4k",
                    "--iodepth=16", "--size=16M", "--verify=crc32c", "--verify_fatal=1", "--verify_state_save=0").ok();
            a.ctl("down", "r0").ok();
        } finally {
            Cmd.run("losetup", "-d", loop);
        }
    }

    /**
     * A client that pipelines far more reads than the in-flight bound and does not read the
     * replies: the agent must stop reading its requests (so the client's sends block) rather
     * than buffer replies without limit; once the client drains, every reply is there.
     */
    @Test
    void aClientThatDoesNotReadRepliesIsThrottledNotBufferedWithoutBound() throws Exception {
        Path disk = dir.resolve("d.img");
        StandaloneFixture.fillRandom(disk, 64L << 20, 5);
        Path sock = dir.resolve("r0.nbd");
        try (AgentProcess a = new AgentProcess(dir, "alpha")) {
            a.writeConfig("r0", "[node.alpha]\nmeta-disk = \"none\"\ndisk = \"" + disk + "\"\nnbd-socket = \"" + sock + "\"\n");
            a.start();
            int reads = 20000;
            int length = 65536;
            try (NbdTestClient c = NbdTestClient.open(sock, "r0")) {
                Thread sender = new Thread(() -> {
                    try {
                        for (int i = 0; i < reads; i++) {
                            c.request(0, NbdTestClient.CMD_READ, (long) (i % 1024) * length, length, null);
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                sender.start();
                NbdClientsIT.waitFor(() -> c.sawBackpressure, "the agent to stop reading requests");
                byte[] first = null;
                for (int i = 0; i < reads; i++) {
                    NbdTestClient.Reply r = c.reply(length);
                    assertEquals(0, r.error(), "read " + i);
                    if (r.cookie() == 1) {
                        first = r.data();
                    }
                }
                sender.join();
                byte[] want = new byte[length];
                try (var in = Files.newInputStream(disk)) {
                    assertEquals(length, in.read(want));
                }
                assertTrue(Arrays.equals(want, first), "the first read returned the disk's first bytes");
            }
            assertTrue(a.alive());
        }
    }
}
