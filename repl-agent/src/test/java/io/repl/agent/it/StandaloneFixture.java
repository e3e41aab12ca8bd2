package io.repl.agent.it;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;

/** One agent serving one standalone resource on a file, shared by a test class. */
final class StandaloneFixture implements AutoCloseable {
    final AgentProcess agent;
    final Path disk;
    final Path socket;
    final long size;

    StandaloneFixture(Path dir, long size, long seed, String extraToml) throws Exception {
        this.size = size;
        this.disk = dir.resolve("disk.img");
        this.socket = dir.resolve("r0.nbd");
        fillRandom(disk, size, seed);
        agent = new AgentProcess(dir, "alpha");
        agent.writeConfig("r0", extraToml + "\n[node.alpha]\nmeta-disk = \"none\"\ndisk = \"" + disk + "\"\nnbd-socket = \"" + socket + "\"\n");
        agent.start();
    }

    String uri() {
        return "nbd+unix:///r0?socket=" + socket;
    }

    static void fillRandom(Path file, long size, long seed) throws IOException {
        Random rnd = new Random(seed);
        byte[] chunk = new byte[1 << 20];
        try (var out = Files.newOutputStream(file)) {
            for (long done = 0; done < size; done += chunk.length) {
                rnd.nextBytes(chunk);
                out.write(chunk, 0, (int) Math.min(chunk.length, size - done));
            }
        }
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws Exception {
        agent.close();
    }
}
