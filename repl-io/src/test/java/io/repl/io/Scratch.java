package io.repl.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Scratch space for engine tests: backing files under {@code target/} (a real file system, so
 * O_DIRECT is exercised), plain reads to check what an engine wrote, and root-only helpers
 * for tmpfs mounts and loop devices that undo themselves on close.
 */
final class Scratch implements AutoCloseable {
    static final int TAIL_BYTES = 64 << 10;
    static final byte TAIL_FILL = 0x7E;

    private final Path dir;
    private final List<String[]> undo = new ArrayList<>();

    Scratch() throws IOException {
        Path base = Path.of("target", "engine-tests").toAbsolutePath();
        Files.createDirectories(base);
        this.dir = Files.createTempDirectory(base, "t");
    }

    Path dir() {
        return dir;
    }

    /**
     * A file holding a volume of {@code volumeBytes} followed by {@link #TAIL_BYTES} bytes of
     * {@link #TAIL_FILL} that no engine may ever touch.
     */
    static Path volumeFile(Path dir, String name, long volumeBytes) throws IOException {
        Path p = dir.resolve(name);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.truncate(volumeBytes);
            byte[] tail = new byte[TAIL_BYTES];
            java.util.Arrays.fill(tail, TAIL_FILL);
            ByteBuffer b = ByteBuffer.wrap(tail);
            while (b.hasRemaining()) {
                ch.write(b, volumeBytes + b.position());
            }
        }
        return p;
    }

    /** Reads {@code length} bytes at {@code offset} through the page cache, bypassing the engine. */
    static byte[] readPlain(Path p, long offset, int length) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            while (b.hasRemaining()) {
                if (ch.read(b, offset + b.position()) < 0) {
                    throw new IOException(p + " ends before " + (offset + length));
                }
            }
            return b.array();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] random(Random rnd, int length) {
        byte[] a = new byte[length];
        rnd.nextBytes(a);
        return a;
    }

    static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** Mounts a tmpfs of {@code sizeBytes} under the scratch dir (root only). */
    Path mountTmpfs(long sizeBytes) throws IOException {
        Path m = Files.createDirectories(dir.resolve("tmpfs"));
        run("mount", "-t", "tmpfs", "-o", "size=" + sizeBytes, "tmpfs", m.toString());
        undo.add(new String[] {"umount", m.toString()});
        return m;
    }

    /** Attaches {@code file} to a free loop device (root only) and returns its path. */
    Path attachLoop(Path file) throws IOException {
        String dev = run("losetup", "--find", "--show", file.toString()).trim();
        undo.add(new String[] {"losetup", "-d", dev});
        return Path.of(dev);
    }

    /** Allocated 512-byte blocks of a file, as stat(1) reports st_blocks. */
    static long allocatedBlocks(Path p) throws IOException {
        return Long.parseLong(run("stat", "-c", "%b", p.toString()).trim());
    }

    static String run(String... cmd) throws IOException {
        Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(proc.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        try {
            if (proc.waitFor() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + cmd[0]);
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        for (int i = undo.size() - 1; i >= 0; i--) {
            run(undo.get(i));
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
