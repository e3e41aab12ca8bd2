package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real NBD clients against a real agent: libnbd tools, QEMU, fio, and a mounted file system. */
class NbdClientsIT {
    private static final long SIZE = 256L << 20;
    @TempDir
    static Path dir;
    static StandaloneFixture fx;

    @BeforeAll
    static void start() throws Exception {
        fx = new StandaloneFixture(dir, SIZE, 1, "");
    }

    @AfterAll
    static void stop() throws Exception {
        fx.close();
    }

    @Test
    void nbdinfoSeesSizeFlagsAndBlockSizes() throws Exception {
        JsonNode info = new ObjectMapper().readTree(Cmd.run("nbdinfo", "--json", fx.uri()).ok().out());
        JsonNode export = info.path("exports").get(0);
        assertEquals("r0", export.path("export-name").asText());
        assertEquals(SIZE, export.path("export-size").asLong());
        assertEquals(false, export.path("is_read_only").asBoolean());
        assertEquals(true, export.path("can_flush").asBoolean());
        assertEquals(true, export.path("can_fua").asBoolean());
        assertEquals(true, export.path("can_trim").asBoolean());
        assertEquals(true, export.path("can_zero").asBoolean());
        assertEquals(true, export.path("can_multi_conn").asBoolean());
        assertEquals(1, export.path("block_size_minimum").asInt());
        assertEquals(4096, export.path("block_size_preferred").asInt());
        assertEquals(32 << 20, export.path("block_size_maximum").asInt());
    }

    @Test
    void nbdcopyInAndOutKeepsEveryByte() throws Exception {
        Path in = dir.resolve("in.bin");
        Path out = dir.resolve("out.bin");
        StandaloneFixture.fillRandom(in, SIZE, 99);
        Cmd.run("nbdcopy", "--flush", in.toString(), fx.uri()).ok();
        Cmd.run("nbdcopy", fx.uri(), out.toString()).ok();
        String want = StandaloneFixture.sha256(in);
        assertEquals(want, StandaloneFixture.sha256(out), "read back through NBD");
        assertEquals(want, StandaloneFixture.sha256(fx.disk), "on the backing file");
        Files.delete(in);
        Files.delete(out);
    }

    @Test
    void qemuImgAndQemuIoReadAndWrite() throws Exception {
        Path img = dir.resolve("q.raw");
        StandaloneFixture.fillRandom(img, 32L << 20, 5);
        String target = "nbd+unix:///r0?socket=" + fx.socket;
        Cmd.run("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", img.toString(), target).ok();
        Path back = dir.resolve("back.raw");
        Cmd.run("qemu-img", "dd", "-f", "raw", "-O", "raw", "bs=1M", "count=32", "if=" + target,
                "of=" + back).ok();
        assertEquals(StandaloneFixture.sha256(img), StandaloneFixture.sha256(back), "qemu-img round trip");
        Cmd.Result io = Cmd.run("qemu-io", "-f", "raw", target,
                "-c", "write -P 0xab 40M 1M", "-c", "read -P 0xab 40M 1M",
                "-c", "write -P 0xcd 42991716 3000", "-c", "read -P 0xcd 42991716 3000",
                "-c", "read -P 0 41M 100",
                "-c", "write -z 42M 64k", "-c", "read -P 0 42M 64k",
                "-c", "write -P 0x11 -f 43M 8k", "-c", "flush", "-c", "read -P 0x11 43M 8k").ok();
        assertTrue(!io.out().contains("Pattern verification failed"), io.out());
    }

    @Test
    void fioRandomWritesVerifyWithCrc32c() throws Exception {
        Cmd.Result r = Cmd.run("fio", "--name=verify", "--ioengine=nbd", "--uri=" + fx.uri(), "--rw=randwrite",
                "--bs=4k", "--iodepth=32", "--size=64M", "--offset=128M", "--verify=crc32c", "--verify_fatal=1",
                "--do_verify=1", "--verify_state_save=0", "--output-format=json").ok();
        // fio prints a line of its own before the JSON ("fio: connected to NBD server").
        JsonNode job = new ObjectMapper().readTree(r.out().substring(r.out().indexOf('{'))).path("jobs").get(0);
        assertEquals(0, job.path("error").asInt(), r.out());
        assertEquals(64L << 20, job.path("write").path("io_bytes").asLong());
        assertEquals(64L << 20, job.path("read").path("io_bytes").asLong(), "verify read everything back");
    }

    @Test
    void ext4OnNbdfuseAndALoopDeviceSurvivesUnmountFsckAndRemount() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for losetup and mount");
        Path fuse = Files.createDirectories(dir.resolve("fuse"));
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        Path dev = fuse.resolve("disk");
        Process nbdfuse = new ProcessBuilder("nbdfuse", dev.toString(), fx.uri()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("nbdfuse.log").toFile()).start();
        String loop = null;
        try {
            waitFor(() -> Files.exists(dev) && Files.size(dev) == SIZE, "nbdfuse to show the export");
            loop = Cmd.run("losetup", "-f", "--show", dev.toString()).ok().out().trim();
            Cmd.run("mkfs.ext4", "-q", "-F", loop).ok();
            Cmd.run("mount", loop, mnt.toString()).ok();
            Path data = dir.resolve("payload.bin");
            StandaloneFixture.fillRandom(data, 20L << 20, 3);
            Files.copy(data, mnt.resolve("payload.bin"));
            Files.writeString(mnt.resolve("note.txt"), "acknowledged and kept\n");
            Cmd.run("umount", mnt.toString()).ok();
            Cmd.run("fsck.ext4", "-n", "-f", loop).ok();
            Cmd.run("mount", loop, mnt.toString()).ok();
            assertEquals(StandaloneFixture.sha256(data), StandaloneFixture.sha256(mnt.resolve("payload.bin")));
            assertEquals("acknowledged and kept\n", Files.readString(mnt.resolve("note.txt")));
            Cmd.run("umount", mnt.toString()).ok();
        } finally {
            Cmd.run("umount", mnt.toString());
            if (loop != null) {
                Cmd.run("losetup", "-d", loop);
            }
            Cmd.run("umount", dev.toString());
            Cmd.run("fusermount3", "-u", fuse.toString());
            nbdfuse.destroy();
            nbdfuse.waitFor();
        }
    }

    /** A condition that may throw while it is not yet true. */
    interface Check {
        boolean holds() throws Exception;
    }

    static void waitFor(Check c, String what) throws Exception {
        waitFor(c, what, 30);
    }

    /** Polls {@code c} until it holds, failing after {@code seconds}. */
    static void waitFor(Check c, String what, long seconds) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            try {
                if (c.holds()) {
                    return;
                }
            } catch (Exception notYet) {
                // keep waiting until the deadline
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }
}
