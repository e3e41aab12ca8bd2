package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.repl.core.metadata.MetadataLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code replctl resize} with real agents: both backing files grow, the pair takes the new size
 * online, the new area resyncs (or is declared clean), a client that connects again sees the new
 * size, and ext4 grows onto it; both replicas then hold the same, clean file system.
 */
class OnlineResizeIT {
    private static final long OLD_BYTES = 64L << 20;
    private static final long NEW_BYTES = 160L << 20;

    @TempDir
    Path dir;

    @Test
    void growsAConnectedPairUnderAMountedFilesystem() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for losetup and mount");
        try (PairFixture fx = connectedPair()) {
            long oldData = fx.dataBytes();
            assertEquals(MetadataLayout.internal(OLD_BYTES).dataBytes(), oldData);
            Path mnt = Files.createDirectories(dir.resolve("mnt"));
            Path payload = dir.resolve("before.bin");
            StandaloneFixture.fillRandom(payload, 20L << 20, 7);
            try (Client client = Client.attach(dir, fx.uri(fx.alpha), oldData, mnt)) {
                Cmd.run("mkfs.ext4", "-q", "-F", client.loop).ok();
                Cmd.run("mount", client.loop, mnt.toString()).ok();
                Files.copy(payload, mnt.resolve("before.bin"));
                Cmd.run("sync", "-f", mnt.resolve("before.bin").toString()).ok();

                grow(fx.disk(fx.alpha), NEW_BYTES);
                grow(fx.disk(fx.beta), NEW_BYTES);
                // The file system stays mounted on the Primary's export while the pair grows.
                fx.alpha.ctl("resize", "r0").ok();
                long newData = MetadataLayout.internal(NEW_BYTES).dataBytes();
                assertEquals(newData, fx.status(fx.alpha).path("sizeBytes").asLong());
                assertEquals(newData, fx.status(fx.beta).path("sizeBytes").asLong());
                fx.waitSynced();
                Files.writeString(mnt.resolve("during.txt"), "written after the resize, before the client saw it\n");
                Cmd.run("umount", mnt.toString()).ok();
            }
            long newData = fx.dataBytes();
            Path more = dir.resolve("after.bin");
            StandaloneFixture.fillRandom(more, 60L << 20, 8);
            try (Client client = Client.attach(dir, fx.uri(fx.alpha), newData, mnt)) {
                // A client that connects again sees the new size; ext4 grows onto it.
                Cmd.run("e2fsck", "-f", "-y", client.loop).ok();
                Cmd.run("resize2fs", client.loop).ok();
                Cmd.run("mount", client.loop, mnt.toString()).ok();
                // 20 + 60 MiB of files: more than the old volume held.
                Files.copy(more, mnt.resolve("after.bin"));
                Cmd.run("umount", mnt.toString()).ok();
                Cmd.run("fsck.ext4", "-f", "-n", client.loop).ok();
                Cmd.run("mount", "-o", "ro", client.loop, mnt.toString()).ok();
                assertEquals(StandaloneFixture.sha256(payload), StandaloneFixture.sha256(mnt.resolve("before.bin")));
                assertEquals(StandaloneFixture.sha256(more), StandaloneFixture.sha256(mnt.resolve("after.bin")));
                assertTrue(Files.readString(mnt.resolve("during.txt")).startsWith("written after the resize"));
                Cmd.run("umount", mnt.toString()).ok();
            }
            fx.waitSynced();
            assertEquals(fx.dataHash(fx.alpha, newData), fx.dataHash(fx.beta, newData),
                    "the Secondary's copy differs from the Primary's");
            // The Secondary's copy, read from its backing file: a clean file system of the new size.
            String loop = Cmd.run("losetup", "-r", "--sizelimit", Long.toString(newData), "-f", "--show",
                    fx.disk(fx.beta).toString()).ok().out().trim();
            try {
                Cmd.run("fsck.ext4", "-f", "-n", loop).ok();
            } finally {
                Cmd.run("losetup", "-d", loop);
            }
        }
    }

    @Test
    void assumeCleanSyncsOnlyWhereTheOldMetadataLay() throws Exception {
        try (PairFixture fx = connectedPair()) {
            long oldData = fx.dataBytes();
            Path payload = dir.resolve("payload.bin");
            StandaloneFixture.fillRandom(payload, oldData, 9);
            Cmd.run("nbdcopy", payload.toString(), fx.uri(fx.alpha)).ok();
            grow(fx.disk(fx.alpha), NEW_BYTES);
            grow(fx.disk(fx.beta), NEW_BYTES);
            fx.beta.ctl("resize", "--assume-clean", "r0").ok();
            long newData = fx.dataBytes();
            assertEquals(MetadataLayout.internal(NEW_BYTES).dataBytes(), newData);
            fx.waitSynced();
            assertEquals(fx.dataHash(fx.alpha, newData), fx.dataHash(fx.beta, newData));
            // What the Primary wrote before survives, and the export reports the new size.
            String info = Cmd.run("nbdinfo", "--size", fx.uri(fx.alpha)).ok().out().trim();
            assertEquals(Long.toString(newData), info);
            assertEquals(StandaloneFixture.sha256(payload), PairFixture.sha256(fx.disk(fx.alpha), oldData));
            String log = fx.alpha.log() + fx.beta.log();
            assertTrue(log.contains("the new area declared clean"), "no assume-clean in the logs");
        }
    }

    @Test
    void refusesToShrinkWithoutForceWhenDisconnectedAndPastTheDisks() throws Exception {
        try (PairFixture fx = connectedPair()) {
            long oldData = fx.dataBytes();
            Cmd.Result shrink = fx.alpha.ctl("resize", "--size", "32M", "r0");
            assertEquals(11, shrink.exit(), shrink.err());
            assertTrue(shrink.err().contains("smaller than the current") && shrink.err().contains("--force"),
                    shrink.err());
            Cmd.Result tooBig = fx.alpha.ctl("resize", "--size", "1G", "r0");
            assertEquals(11, tooBig.exit(), tooBig.err());
            assertTrue(tooBig.err().contains("more than the disks offer"), tooBig.err());
            Cmd.Result garbage = fx.alpha.ctl("resize", "--size", "lots", "r0");
            assertEquals(2, garbage.exit(), garbage.err());
            grow(fx.disk(fx.alpha), NEW_BYTES);
            // Only alpha grew: the pair stays at the smaller disk's size.
            fx.alpha.ctl("resize", "r0").ok();
            assertEquals(oldData, fx.dataBytes());
            fx.alpha.ctl("disconnect", "r0").ok();
            Cmd.Result apart = fx.alpha.ctl("resize", "r0");
            assertEquals(11, apart.exit(), apart.err());
            assertTrue(apart.err().contains("not connected"), apart.err());
            assertEquals(oldData, fx.dataBytes());
        }
    }

    @Test
    void aForcedShrinkRefusesAnOldClientPastTheNewEndAndSurvivesARestart() throws Exception {
        try (PairFixture fx = connectedPair();
             NbdTestClient old = NbdTestClient.open(fx.socket(fx.alpha), "r0")) {
            long small = 32L << 20;
            byte[] block = new byte[4096];
            java.util.Arrays.fill(block, (byte) 0x5a);
            fx.alpha.ctl("resize", "--size", "32M", "--force", "r0").ok();
            assertEquals(small, fx.status(fx.alpha).path("sizeBytes").asLong());
            assertEquals(small, fx.status(fx.beta).path("sizeBytes").asLong());
            // The client was told 64 MiB: past the new end it gets an error, never another block.
            old.request(0, NbdTestClient.CMD_WRITE, 40L << 20, block.length, block);
            int past = old.reply(0).error();
            assertTrue(past == NbdTestClient.ENOSPC || past == NbdTestClient.EINVAL, "error " + past);
            old.request(0, NbdTestClient.CMD_WRITE, small - 4096, block.length, block);
            assertEquals(0, old.reply(0).error(), "the last block of the new size");
            assertEquals(Long.toString(small), Cmd.run("nbdinfo", "--size", fx.uri(fx.alpha)).ok().out().trim());
            fx.waitSynced();
            assertEquals(fx.dataHash(fx.alpha, small), fx.dataHash(fx.beta, small));
            restart(fx.beta);
            fx.waitSynced();
            assertEquals(small, fx.status(fx.beta).path("sizeBytes").asLong(), "the moved metadata, found again");
        }
    }

    @Test
    void aRestartAfterTheBackingFileGrewFindsTheMetadataAndResizeThenMovesIt() throws Exception {
        try (PairFixture fx = connectedPair()) {
            long oldData = fx.dataBytes();
            grow(fx.disk(fx.alpha), NEW_BYTES);
            grow(fx.disk(fx.beta), NEW_BYTES);
            // The device now implies another place for the metadata; the agent finds the old one.
            restart(fx.beta);
            fx.waitSynced();
            assertEquals(oldData, fx.status(fx.beta).path("sizeBytes").asLong());
            fx.alpha.ctl("resize", "r0").ok();
            fx.waitSynced();
            long newData = fx.dataBytes();
            assertEquals(MetadataLayout.internal(NEW_BYTES).dataBytes(), newData);
            // And after the move, a restart finds the moved metadata.
            restart(fx.beta);
            fx.waitSynced();
            assertEquals(newData, fx.status(fx.beta).path("sizeBytes").asLong());
            assertEquals(fx.dataHash(fx.alpha, newData), fx.dataHash(fx.beta, newData));
        }
    }

    @Test
    void aStandaloneResourceGrowsAlone() throws Exception {
        Path disk = dir.resolve("solo.img");
        grow(disk, OLD_BYTES);
        Path socket = dir.resolve("solo.nbd");
        try (AgentProcess solo = new AgentProcess(dir, "alpha")) {
            solo.writeConfig("r0", "[node.alpha]\ndisk = \"" + disk + "\"\nnbd-socket = \"" + socket + "\"\n");
            solo.start();
            solo.ctl("create-md", "r0").ok();
            solo.ctl("up", "r0").ok();
            String uri = "nbd+unix:///r0?socket=" + socket;
            Path payload = dir.resolve("solo.bin");
            StandaloneFixture.fillRandom(payload, MetadataLayout.internal(OLD_BYTES).dataBytes(), 5);
            Cmd.run("nbdcopy", payload.toString(), uri).ok();
            grow(disk, NEW_BYTES);
            solo.ctl("resize", "r0").ok();
            long newData = MetadataLayout.internal(NEW_BYTES).dataBytes();
            assertEquals(Long.toString(newData), Cmd.run("nbdinfo", "--size", uri).ok().out().trim());
            solo.ctl("down", "r0").ok();
            solo.ctl("up", "r0").ok();
            assertEquals(Long.toString(newData), Cmd.run("nbdinfo", "--size", uri).ok().out().trim());
            assertEquals(StandaloneFixture.sha256(payload), PairFixture.sha256(disk, Files.size(payload)));
        }
    }

    /**
     * Two fresh, zeroed disk files are identical: declared so instead of an initial sync, with
     * alpha Primary.
     */
    private PairFixture connectedPair() throws Exception {
        PairFixture fx = new PairFixture(dir, OLD_BYTES, "C");
        try {
            fx.startConnectedOnSockets();
            fx.alpha.ctlNow("new-current-uuid", "r0", Map.of("clear-bitmap", true));
            fx.alpha.ctlNow("primary", "r0", Map.of("force", false));
            fx.waitSynced();
            return fx;
        } catch (Exception | AssertionError e) {
            fx.close();
            throw e;
        }
    }

    /** down and up of r0 on {@code a}, on its control socket; the caller waits for the reconnect. */
    private static void restart(AgentProcess a) throws Exception {
        a.ctlNow("down", "r0", Map.of());
        a.ctlNow("up", "r0", Map.of());
    }

    private static void grow(Path file, long bytes) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[1]), bytes - 1);
        }
    }

    /** nbdfuse of an export and a loop device on it: what a client of the volume holds. */
    private static final class Client implements AutoCloseable {
        final Path fuse;
        final Process nbdfuse;
        final String loop;
        final Path mnt;

        private Client(Path fuse, Process nbdfuse, String loop, Path mnt) {
            this.fuse = fuse;
            this.nbdfuse = nbdfuse;
            this.loop = loop;
            this.mnt = mnt;
        }

        /** The export as a loop device; {@code mnt} is unmounted again when it closes. */
        static Client attach(Path dir, String uri, long size, Path mnt) throws Exception {
            Path fuse = Files.createDirectories(dir.resolve("fuse"));
            Path dev = fuse.resolve("disk");
            Process p = new ProcessBuilder("nbdfuse", dev.toString(), uri).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("nbdfuse.log").toFile())).start();
            try {
                NbdClientsIT.waitFor(() -> Files.exists(dev) && Files.size(dev) == size,
                        "nbdfuse to show the export of " + size + " bytes");
                String loop = Cmd.run("losetup", "-f", "--show", dev.toString()).ok().out().trim();
                return new Client(fuse, p, loop, mnt);
            } catch (Exception | AssertionError e) {
                stop(fuse, p);
                throw e;
            }
        }

        private static void stop(Path fuse, Process p) throws Exception {
            Cmd.run("umount", fuse.resolve("disk").toString());
            Cmd.run("fusermount3", "-u", fuse.toString());
            p.destroy();
            p.waitFor();
        }

        @Override
        public void close() throws Exception {
            Cmd.run("umount", mnt.toString());
            Cmd.run("losetup", "-d", loop);
            stop(fuse, nbdfuse);
        }
    }
}
