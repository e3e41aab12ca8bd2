package io.repl.agent.witness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.witness.WitnessRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileWitnessStoreTest {
    private static final WitnessRecord GRANTED = new WitnessRecord(0xA2L, 0b01, List.of(0xA1L, 0x77L), false);
    private static final WitnessRecord FORCED = new WitnessRecord(0xB3L, 0b10, List.of(0xA2L, 0xA1L, 0x77L), true);

    @TempDir
    Path dir;

    private FileWitnessStore store() throws IOException {
        return FileWitnessStore.open(dir.resolve("witness"));
    }

    private IOException refused(FileWitnessStore store) {
        IOException e = assertThrows(IOException.class, () -> store.load("r0"));
        assertTrue(e.getMessage().startsWith(store.file("r0") + ": "), "names the file: " + e.getMessage());
        return e;
    }

    @Test
    void aSavedRecordLoadsBackEqual() throws Exception {
        FileWitnessStore store = store();
        store.save("r0", GRANTED);
        assertEquals(GRANTED, store.load("r0"));
        assertEquals(GRANTED, store().load("r0"), "a new store on the same directory reads it too");
    }

    @Test
    void aSaveReplacesTheRecordAndLeavesNoTemporaryFile() throws Exception {
        FileWitnessStore store = store();
        store.save("r0", GRANTED);
        store.save("r0", FORCED);
        assertEquals(FORCED, store.load("r0"));
        try (var files = Files.list(dir.resolve("witness"))) {
            assertEquals(List.of("r0.record"), files.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void resourcesHaveTheirOwnFiles() throws Exception {
        FileWitnessStore store = store();
        store.save("r0", GRANTED);
        store.save("r1", FORCED);
        assertEquals(GRANTED, store.load("r0"));
        assertEquals(FORCED, store.load("r1"));
    }

    @Test
    void aMissingFileIsNoRecord() throws Exception {
        assertEquals(WitnessRecord.NONE, store().load("r0"));
    }

    @Test
    void everyFlippedByteIsRefused() throws Exception {
        FileWitnessStore store = store();
        store.save("r0", FORCED);
        Path file = store.file("r0");
        byte[] good = Files.readAllBytes(file);
        for (int i = 0; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= 0x10;
            Files.write(file, bad);
            IOException e = refused(store);
            assertTrue(e.getMessage().matches(".*(checksum mismatch|magic|version|ancestors).*"),
                    "byte " + i + ": " + e.getMessage());
        }
    }

    @Test
    void aTruncatedFileIsRefused() throws Exception {
        FileWitnessStore store = store();
        store.save("r0", FORCED);
        Path file = store.file("r0");
        byte[] good = Files.readAllBytes(file);
        for (int n = 0; n < good.length; n++) {
            Files.write(file, Arrays.copyOf(good, n));
            refused(store);
        }
    }

    @Test
    void anUnknownVersionIsRefusedAsSuch() throws Exception {
        FileWitnessStore store = store();
        byte[] bytes = FileWitnessStore.encode(GRANTED).array();
        ByteBuffer.wrap(bytes).putShort(4, (short) 2);
        rechecksum(bytes);
        Files.write(store.file("r0"), bytes);
        IOException e = refused(store);
        assertTrue(e.getMessage().contains("version 2"), e.getMessage());
    }

    @Test
    void aWellFormedButImpossibleRecordIsRefused() throws Exception {
        FileWitnessStore store = store();
        byte[] bytes = FileWitnessStore.encode(GRANTED).array();
        // Holders without a generation: the checksum is right, the record is not.
        ByteBuffer.wrap(bytes).putLong(8, 0);
        rechecksum(bytes);
        Files.write(store.file("r0"), bytes);
        IOException e = refused(store);
        assertTrue(e.getMessage().contains("impossible"), e.getMessage());
    }

    @Test
    void anUnknownFlagIsRefused() throws Exception {
        FileWitnessStore store = store();
        byte[] bytes = FileWitnessStore.encode(GRANTED).array();
        ByteBuffer.wrap(bytes).putShort(6, (short) 0x8000);
        rechecksum(bytes);
        Files.write(store.file("r0"), bytes);
        IOException e = refused(store);
        assertTrue(e.getMessage().contains("unknown flags"), e.getMessage());
    }

    @Test
    void aCrashBeforeTheRenameLeavesTheOldRecord() throws Exception {
        FileWitnessStore store = store();
        store.save("r0", GRANTED);
        // What a crash between writing the temporary file and renaming it leaves behind: a
        // complete or a torn new record beside the old one.
        Path temp = dir.resolve("witness").resolve("r0" + FileWitnessStore.TEMP_SUFFIX);
        Files.write(temp, Arrays.copyOf(FileWitnessStore.encode(FORCED).array(), 11));
        assertEquals(GRANTED, store.load("r0"));
        assertEquals(GRANTED, store().load("r0"), "after a restart as well");
        store.save("r0", FORCED);
        assertEquals(FORCED, store.load("r0"));
        assertFalse(Files.exists(temp), "the next save replaced the stray file");
    }

    @Test
    void aNameThatIsNotAResourceNameIsRefused() throws Exception {
        FileWitnessStore store = store();
        assertThrows(IllegalArgumentException.class, () -> store.save("../r0", GRANTED));
        assertThrows(IllegalArgumentException.class, () -> store.load("a/b"));
    }

    private static void rechecksum(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        ByteBuffer.wrap(bytes).putInt(bytes.length - 4, (int) crc.getValue());
    }
}
