package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk is one agent's alone from up to down, against real holders: a second agent with a
 * config of its own naming the same disk, qemu-io and qemu-nbd (QEMU's image locking), and for
 * a loop device the kernel's exclusive claim that mount needs. The agent is refused in turn
 * while another holds the disk, holds it again after a kill -9 and a restart, and every refusal
 * names the holder.
 */
class ExclusiveDiskIT {
    private final ObjectMapper json = new ObjectMapper();

    @TempDir
    Path dir;

    private static String standalone(String disk, Path sock) {
        return "[node.alpha]\nmeta-disk = \"none\"\ndisk = \"" + disk + "\"\nnbd-socket = \"" + sock + "\"\n";
    }

    private String diskState(AgentProcess a) throws Exception {
        for (JsonNode r : json.readTree(a.ctl("status", "--json").ok().out()).path("resources")) {
            if (r.path("name").asText().equals("r0")) {
                return r.path("disk").asText();
            }
        }
        throw new AssertionError("no r0 in the status of " + a.node);
    }

    /** qemu-io opening {@code disk} for a write: refused by QEMU's own image locking while held. */
    private static Cmd.Result qemuWrite(String disk) throws Exception {
        return Cmd.run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 4k", disk);
    }

    /**
     * While {@code holder} has r0 up: another agent's up is refused naming the holder's pid, and
     * qemu-io cannot open the disk for writing.
     */
    private static void othersAreRefused(AgentProcess holder, AgentProcess other, String disk) throws Exception {
        Cmd.Result up = other.ctl("up", "r0");
        assertNotEquals(0, up.exit(), "a second agent came up on " + disk + ": " + up.out());
        assertTrue(up.err().contains(disk + " is "), up.err());
        assertTrue(up.err().contains("pid " + holder.pid() + " (java io.repl.agent.AgentMain --config-dir "
                + holder.configDir), "the refusal names the agent that holds the disk: " + up.err());
        Cmd.Result qemu = qemuWrite(disk);
        assertNotEquals(0, qemu.exit(), "qemu-io wrote to a disk the agent holds: " + qemu.out());
        assertTrue(qemu.err().contains("lock"), qemu.err());
    }

    @Test
    void aFileDiskIsHeldAgainstAnotherAgentAndQemuFromUpToDownAndAfterARestart() throws Exception {
        assumeTrue(Cmd.available("qemu-io") && Cmd.available("qemu-nbd"), "needs qemu-utils");
        Path disk = dir.resolve("d0.img");
        StandaloneFixture.fillRandom(disk, 4L << 20, 8);
        String before = StandaloneFixture.sha256(disk);
        Path qemuSocket = dir.resolve("qemu.sock");
        Process qemuNbd = new ProcessBuilder("qemu-nbd", "-f", "raw", "-k", qemuSocket.toString(), disk.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
        try (AgentProcess a = new AgentProcess(dir, "alpha");
             AgentProcess other = new AgentProcess(dir.resolve("other"), "alpha")) {
            // qemu-nbd opens (and locks) the image before it listens.
            NbdClientsIT.waitFor(() -> qemuNbd.isAlive() && Files.exists(qemuSocket), "qemu-nbd to serve the disk");
            a.writeConfig("r0", standalone(disk.toString(), dir.resolve("r0.nbd")));
            a.start();
            Cmd.Result refused = a.ctl("up", "r0");
            assertNotEquals(0, refused.exit(), "the agent came up on a disk qemu-nbd serves");
            assertTrue(refused.err().contains(disk + " is locked by another process: pid " + qemuNbd.pid()
                    + " (qemu-nbd -f raw"), refused.err());
            assertTrue(refused.err().contains("stop that process"), "what to do: " + refused.err());
            assertEquals("Diskless", diskState(a));
            qemuNbd.destroy();
            assertTrue(qemuNbd.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));

            a.ctl("up", "r0").ok();
            assertEquals("UpToDate", diskState(a));
            other.writeConfig("r0", standalone(disk.toString(), other.dir.resolve("r0.nbd")));
            other.start();
            othersAreRefused(a, other, disk.toString());
            assertEquals(before, StandaloneFixture.sha256(disk), "nothing but the agent may write the disk");

            // A killed agent leaves no claim behind; the restarted one holds the disk again.
            a.kill();
            AgentProcess again = new AgentProcess(dir, "alpha").start();
            try (again) {
                assertEquals("UpToDate", diskState(again));
                othersAreRefused(again, other, disk.toString());
                again.ctl("down", "r0").ok();
                // Down releases it: the same refusals were the agent's doing.
                qemuWrite(disk.toString()).ok();
                other.ctl("up", "r0").ok();
                assertEquals("UpToDate", diskState(other));
            }
        } finally {
            qemuNbd.destroyForcibly().waitFor();
        }
    }

    @Test
    void aLoopDeviceCannotBeMountedWhileHeldNorHeldWhileMounted() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for losetup and mount");
        assumeTrue(Cmd.available("qemu-io"), "needs qemu-utils");
        Path file = dir.resolve("backing.img");
        StandaloneFixture.fillRandom(file, 32L << 20, 9);
        Cmd.run("mkfs.ext4", "-q", "-F", file.toString()).ok();
        Cmd.Result losetup = Cmd.run("losetup", "-f", "--show", file.toString());
        assumeTrue(losetup.exit() == 0, "losetup failed: " + losetup.err());
        String loop = losetup.out().trim();
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        try (AgentProcess a = new AgentProcess(dir, "alpha");
             AgentProcess other = new AgentProcess(dir.resolve("other"), "alpha")) {
            Cmd.run("mount", "-t", "ext4", loop, mnt.toString()).ok();
            a.writeConfig("r0", standalone(loop, dir.resolve("r0.nbd")));
            a.start();
            Cmd.Result refused = a.ctl("up", "r0");
            assertNotEquals(0, refused.exit(), "the agent came up on a mounted device");
            assertTrue(refused.err().contains(loop + " is in exclusive use: mounted at " + mnt + "; unmount it"),
                    refused.err());
            assertEquals("Diskless", diskState(a));
            Cmd.run("umount", mnt.toString()).ok();

            a.ctl("up", "r0").ok();
            assertEquals("UpToDate", diskState(a));
            assertMountRefused(loop, mnt);
            other.writeConfig("r0", standalone(loop, other.dir.resolve("r0.nbd")));
            other.start();
            othersAreRefused(a, other, loop);

            a.kill();
            AgentProcess again = new AgentProcess(dir, "alpha").start();
            try (again) {
                assertEquals("UpToDate", diskState(again));
                assertMountRefused(loop, mnt);
                othersAreRefused(again, other, loop);
                again.ctl("down", "r0").ok();
                // Down releases it: the refused mount was the agent's doing.
                Cmd.run("mount", "-t", "ext4", loop, mnt.toString()).ok();
                Cmd.run("umount", mnt.toString()).ok();
            }
        } finally {
            Cmd.run("umount", mnt.toString());
            Cmd.run("losetup", "-d", loop);
        }
    }

    private static void assertMountRefused(String loop, Path mnt) throws Exception {
        Cmd.Result mount = Cmd.run("mount", "-t", "ext4", loop, mnt.toString());
        if (mount.exit() == 0) {
            Cmd.run("umount", mnt.toString());
        }
        assertNotEquals(0, mount.exit(), "mounted " + loop + " while the agent held it");
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + mnt + " "),
                "mounted " + loop + " while the agent held it");
    }
}
