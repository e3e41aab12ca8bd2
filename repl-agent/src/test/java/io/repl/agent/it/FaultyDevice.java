package io.repl.agent.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

/**
 * A disk that fails on demand: a backing file served by {@code nbdkit} (its {@code sh} plugin,
 * whose script fails writes or flushes with EIO while a switch file exists) and exposed to the
 * agent as a regular file through {@code nbdfuse}. Writes, reads and flushes all reach the
 * backing file through NBD, so the agent sees what it would see from a failing disk: EIO from
 * pwrite, or from fdatasync.
 */
final class FaultyDevice implements AutoCloseable {
    /** The file the agent uses as its disk (or meta-disk). */
    final Path file;
    /** The bytes behind it. */
    final Path backing;
    private final Path mountpoint;
    private final Path failWrites;
    private final Path failFlushes;
    private final Path slowWrites;
    /** One line per write the device has begun. */
    private final Path writesBegun;
    private final Process nbdfuse;
    /** What nbdfuse and nbdkit print: each request that failed, and why. */
    final Path log;

    private FaultyDevice(Path dir, String name, long bytes) throws IOException, InterruptedException {
        Path home = Files.createDirectories(dir.resolve(name + "-faulty"));
        backing = home.resolve("backing.img");
        try (var ch = java.nio.channels.FileChannel.open(backing, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[1]), bytes - 1);
        }
        failWrites = home.resolve("fail-writes");
        failFlushes = home.resolve("fail-flushes");
        slowWrites = home.resolve("slow-writes");
        writesBegun = home.resolve("writes-begun");
        Path script = home.resolve("disk.sh");
        Files.writeString(script, String.join("\n",
                "#!/bin/sh",
                "# nbdkit sh plugin: a file whose writes or flushes fail while a switch file exists.",
                "# No method execs its command: a pread whose script process was dd itself sometimes",
                "# reached nbdkit (1.32) as 0 bytes, and the read failed with EIO.",
                "case \"$1\" in",
                "  get_size) stat -c %s '" + backing + "' ;;",
                "  can_write|can_flush) exit 0 ;;",
                "  pread) dd if='" + backing + "' iflag=skip_bytes,count_bytes skip=\"$4\" count=\"$3\" status=none ;;",
                "  pwrite)",
                "    echo \"$4\" >> '" + writesBegun + "'",
                "    if [ -e '" + slowWrites + "' ]; then sleep \"$(cat '" + slowWrites + "')\"; fi",
                "    if [ -e '" + failWrites + "' ]; then cat >/dev/null; echo 'EIO injected write error' >&2; exit 1; fi",
                "    dd of='" + backing + "' oflag=seek_bytes conv=notrunc seek=\"$4\" status=none ;;",
                "  flush)",
                "    if [ -e '" + failFlushes + "' ]; then echo 'EIO injected flush error' >&2; exit 1; fi",
                "    sync '" + backing + "' ;;",
                "  *) exit 2 ;;",
                "esac",
                ""));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        mountpoint = Files.createDirectories(home.resolve("mnt"));
        log = home.resolve("nbdfuse.log");
        file = mountpoint.resolve("disk");
        nbdfuse = new ProcessBuilder("nbdfuse", file.toString(), "--command", "nbdkit", "-s", "sh", script.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(file)) {
            if (!nbdfuse.isAlive()) {
                throw new IOException("nbdfuse exited: " + Files.readString(log));
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IOException("nbdfuse did not expose " + file);
            }
            Thread.sleep(20);
        }
    }

    static FaultyDevice start(Path dir, String name, long bytes) throws IOException, InterruptedException {
        return new FaultyDevice(dir, name, bytes);
    }

    void failWrites(boolean on) throws IOException {
        toggle(failWrites, on);
    }

    void failFlushes(boolean on) throws IOException {
        toggle(failFlushes, on);
    }

    /** How many writes the device has begun so far. */
    long writesBegun() throws IOException {
        return Files.exists(writesBegun) ? Files.readAllLines(writesBegun).size() : 0;
    }

    /** Every write takes {@code seconds} longer from now on; 0 ends that. */
    void slowWrites(int seconds) throws IOException {
        if (seconds > 0) {
            Files.writeString(slowWrites, seconds + "\n");
        } else {
            Files.deleteIfExists(slowWrites);
        }
    }

    private static void toggle(Path switchFile, boolean on) throws IOException {
        if (on) {
            Files.writeString(switchFile, "on\n");
        } else {
            Files.deleteIfExists(switchFile);
        }
    }

    @Override
    public void close() throws Exception {
        Files.deleteIfExists(failWrites);
        Files.deleteIfExists(failFlushes);
        Files.deleteIfExists(slowWrites);
        Cmd.run("fusermount3", "-u", mountpoint.toString());
        if (!nbdfuse.waitFor(10, TimeUnit.SECONDS)) {
            nbdfuse.destroyForcibly();
            Cmd.run("fusermount3", "-uz", mountpoint.toString());
        }
    }
}
