package io.repl.agent.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.agent.config.ConfigLoader;
import io.repl.agent.config.ResourceConfig;
import io.repl.io.Backing;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** {@code [disk] size} is the size of the volume the resource serves, whatever the disk offers beyond it. */
class MetaPlanTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    private Path disk(long bytes) throws IOException {
        Path d = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(d.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return d;
    }

    private long planned(String metaDisk, String sizeLine, Path disk) throws Exception {
        String meta = metaDisk.equals("external") ? dir.resolve("r0.md").toString() : metaDisk;
        ResourceConfig c = new ConfigLoader().load(Files.writeString(dir.resolve("r0.toml"),
                "[disk]\n" + sizeLine + "\n[node.alpha]\ndisk = \"" + disk + "\"\nmeta-disk = \"" + meta + "\"\n"));
        return MetaPlan.of(c, c.local("alpha"), Backing.probe(disk)).dataBytes();
    }

    @ParameterizedTest
    @ValueSource(strings = {"internal", "external", "none"})
    void theConfiguredSizeIsTheVolumesSize(String metaDisk) throws Exception {
        Path disk = disk(64 * MIB);
        long whole = planned(metaDisk, "", disk);
        assertTrue(whole > 40 * MIB, metaDisk + ": without size the volume is what the disk offers: " + whole);
        assertEquals(8 * MIB, planned(metaDisk, "size = \"8M\"", disk), metaDisk);
        IOException tooBig = assertThrows(IOException.class, () -> planned(metaDisk, "size = \"128M\"", disk));
        assertTrue(tooBig.getMessage().contains("disk.size"), tooBig.getMessage());
    }
}
