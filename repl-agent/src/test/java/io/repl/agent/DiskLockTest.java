package io.repl.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.repl.agent.testing.LogCapture;
import io.repl.io.Errno;
import io.repl.io.Flock;
import io.repl.io.LibC;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The claim on a disk, against the real kernel: a second open of the same file stands in for
 * another process (open-file-description locks conflict between descriptions, not processes),
 * and a child JVM is a real other process for the refusal that must name it.
 */
class DiskLockTest {
    @TempDir
    Path dir;
    private Path disk;
    private LibC c;

    @BeforeEach
    void disk() throws IOException {
        c = LibC.get();
        assumeTrue(c != null && Flock.layoutKnown(), "needs libc and Linux on x86_64 or aarch64");
        disk = dir.resolve("disk.img");
        Files.write(disk, new byte[1 << 16]);
    }

    /** Whether an open of its own may take a whole-file OFD write lock on {@code file} now; undoes it. */
    private boolean anotherOpenCanLock(Path file) {
        int fd = c.open(file.toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        assertTrue(fd >= 0, "open " + file + ": " + Errno.name(LibC.lastErrno()));
        try {
            if (c.fcntl(fd, LibC.F_OFD_SETLK, Flock.wholeFile(LibC.F_WRLCK)) == 0) {
                return true; // closing the descriptor below releases it again
            }
            int err = LibC.lastErrno();
            assertTrue(err == Errno.EAGAIN || err == Errno.EACCES, "fcntl: " + Errno.name(err));
            return false;
        } finally {
            c.close(fd);
        }
    }

    @Test
    void anotherOpenOfTheDiskCannotLockItWhileItIsHeld() throws IOException {
        assertTrue(anotherOpenCanLock(disk), "nothing holds the disk yet");
        try (DiskLock l = DiskLock.acquire("r0", disk, null)) {
            assertFalse(anotherOpenCanLock(disk));
        }
        assertTrue(anotherOpenCanLock(disk), "down releases the disk");
    }

    @Test
    void theClaimOutlivesAnotherDescriptorOnTheDiskClosing() throws IOException {
        try (DiskLock l = DiskLock.acquire("r0", disk, null)) {
            // What the io_uring self-test and the engines do: open the disk, use it, close it.
            try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ch.read(ByteBuffer.allocate(4096), 0);
            }
            int fd = c.open(disk.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
            assertTrue(fd >= 0);
            assertEquals(0, c.close(fd));
            assertFalse(anotherOpenCanLock(disk), "the claim must not end when another descriptor closes");
        }
    }

    @Test
    void aRefusalNamesTheProcessThatHoldsTheDisk() throws Exception {
        Process holder = new ProcessBuilder(javaBinary(), "-cp", System.getProperty("java.class.path"),
                Holder.class.getName(), disk.toString())
                .redirectError(dir.resolve("holder.err").toFile()).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(),
                    StandardCharsets.UTF_8));
            String said = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (IOException e) {
                    return null;
                }
            }).get(60, TimeUnit.SECONDS);
            assertEquals("held", said, () -> "holder: " + readQuietly(dir.resolve("holder.err")));
            IOException refused = assertThrows(IOException.class, () -> DiskLock.acquire("r0", disk, null));
            String m = refused.getMessage();
            assertTrue(m.contains("is locked by another process"), m);
            assertTrue(m.contains("pid " + holder.pid() + " (java " + Holder.class.getName()), m);
            assertTrue(m.contains("; stop that process"), m);
            holder.getOutputStream().close();
            assertTrue(holder.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, holder.exitValue(), () -> readQuietly(dir.resolve("holder.err")));
            // The holder's claim ended with it: this one now succeeds.
            DiskLock.acquire("r0", disk, null).close();
        } finally {
            holder.destroyForcibly().waitFor();
        }
    }

    @Test
    void twoResourcesOfOneAgentCannotShareADisk() throws IOException {
        try (DiskLock l = DiskLock.acquire("r0", disk, null)) {
            IOException e = assertThrows(IOException.class, () -> DiskLock.acquire("r1", disk, null));
            assertTrue(e.getMessage().contains("is already the disk of resource r0 in this agent"), e.getMessage());
            assertFalse(anotherOpenCanLock(disk), "the refused resource must not have released r0's claim");
        }
        DiskLock.acquire("r1", disk, null).close();
    }

    @Test
    void anExternalMetaDiskIsHeldTooAndBothOrNeitherAreTaken() throws IOException {
        Path meta = dir.resolve("meta.img");
        Files.write(meta, new byte[4096]);
        try (DiskLock l = DiskLock.acquire("r0", disk, meta)) {
            assertFalse(anotherOpenCanLock(meta));
            assertFalse(anotherOpenCanLock(disk));
        }
        assertTrue(anotherOpenCanLock(meta));
        // With the meta-disk held elsewhere, the data disk is not left claimed either.
        int fd = c.open(meta.toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        try {
            assertEquals(0, c.fcntl(fd, LibC.F_OFD_SETLK, Flock.wholeFile(LibC.F_WRLCK)));
            IOException e = assertThrows(IOException.class, () -> DiskLock.acquire("r0", disk, meta));
            assertTrue(e.getMessage().startsWith(meta + " is locked by another process"), e.getMessage());
            assertTrue(e.getMessage().contains("pid " + ProcessHandle.current().pid() + " (this process"),
                    e.getMessage());
            assertTrue(anotherOpenCanLock(disk));
        } finally {
            c.close(fd);
        }
    }

    @Test
    void withoutLibcTheClaimFallsBackToAPosixLockAndSaysSo() throws IOException {
        // The agent's System.Logger writes each line to whatever System.err is at the time.
        PrintStream err = System.err;
        LogCapture capture = new LogCapture(err);
        System.setErr(new PrintStream(capture, true, StandardCharsets.UTF_8));
        try (DiskLock l = DiskLock.acquire("r0", disk, null, null)) {
            assertTrue(capture.lines.stream().anyMatch(w -> w.contains("WARN") && w.contains("falling back to a POSIX lock")),
                    capture.lines.toString());
            // A POSIX lock still keeps other open file descriptions out while nothing closes.
            assertFalse(anotherOpenCanLock(disk));
        } finally {
            System.setErr(err);
        }
        assertTrue(anotherOpenCanLock(disk));
    }

    @Test
    void aDiskThatDoesNotExistIsNamed() {
        IOException e = assertThrows(IOException.class, () -> DiskLock.acquire("r0", dir.resolve("nope"), null));
        assertTrue(e.getMessage().contains("nope does not exist"), e.getMessage());
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString());
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }

    /** Another process that claims the disk given as its argument until its stdin closes. */
    static final class Holder {
        public static void main(String[] args) throws Exception {
            try (DiskLock l = DiskLock.acquire("elsewhere", Path.of(args[0]), null)) {
                System.out.println("held");
                System.out.flush();
                while (System.in.read() >= 0) {
                    // until the test closes our stdin
                }
            }
        }
    }
}
