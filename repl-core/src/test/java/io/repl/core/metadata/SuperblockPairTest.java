package io.repl.core.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.repl.core.uuid.GenerationUuids;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class SuperblockPairTest {

    @Test
    void updatesAlternateBetweenTheCopies() throws Exception {
        CrashingMetaDevice device = new CrashingMetaDevice(64);
        Superblock first = SuperblockCodecTest.sample().withSequence(1);
        Superblock newest = SuperblockPair.writeBoth(device, first);
        assertEquals(2, newest.sequence());
        for (int i = 0; i < 5; i++) {
            long before = newest.sequence();
            newest = SuperblockPair.write(device, newest,
                    newest.withUuids(GenerationUuids.of(100 + i, 0)));
            assertEquals(before + 1, newest.sequence());
            assertEquals(newest, SuperblockPair.read(device));
            // The other copy still holds the previous version.
            long other = SuperblockPair.slotOf(before);
            assertEquals(before, SuperblockCodec.decode(device.current(other)).sequence());
        }
    }

    @Test
    void aCorruptNewestCopyFallsBackToTheOther() throws Exception {
        CrashingMetaDevice device = new CrashingMetaDevice(64);
        Superblock newest = SuperblockPair.writeBoth(device,
                SuperblockCodecTest.sample().withSequence(1));
        byte[] damaged = device.current(SuperblockPair.slotOf(newest.sequence()));
        damaged[300] ^= 0x40;
        device.poke(SuperblockPair.slotOf(newest.sequence()), damaged);
        assertEquals(newest.sequence() - 1, SuperblockPair.read(device).sequence());
    }

    @Test
    void bothCopiesInvalidIsAClearErrorNeverADefault() throws Exception {
        CrashingMetaDevice device = new CrashingMetaDevice(64);
        Superblock newest = SuperblockPair.writeBoth(device,
                SuperblockCodecTest.sample().withSequence(1));
        byte[] a = device.current(MetadataLayout.SUPERBLOCK_A_BLOCK);
        a[300] ^= 1;
        device.poke(MetadataLayout.SUPERBLOCK_A_BLOCK, a);
        device.poke(MetadataLayout.SUPERBLOCK_B_BLOCK, new byte[MetaDevice.BLOCK_BYTES]);
        MetadataException error = assertThrows(MetadataException.class,
                () -> SuperblockPair.read(device));
        assertEquals("no valid superblock: copy A checksum mismatch, copy B bad magic",
                error.getMessage());
        assertEquals(2, newest.sequence());
    }

    @Test
    void aCopyInTheWrongBlockIsIgnored() throws Exception {
        CrashingMetaDevice device = new CrashingMetaDevice(64);
        Superblock newest = SuperblockPair.writeBoth(device,
                SuperblockCodecTest.sample().withSequence(1));
        // Sequence 3 belongs in copy B; finding it in A means a misdirected write.
        device.poke(MetadataLayout.SUPERBLOCK_A_BLOCK,
                SuperblockCodec.encode(newest.withSequence(3)));
        MetadataException error = assertThrows(MetadataException.class, () -> {
            device.poke(MetadataLayout.SUPERBLOCK_B_BLOCK, new byte[MetaDevice.BLOCK_BYTES]);
            SuperblockPair.read(device);
        });
        assertEquals("no valid superblock: copy A sequence 3 belongs in copy B, copy B bad magic",
                error.getMessage());
    }

    @Test
    void anUpdateMustStartFromTheNewest() throws IOException {
        CrashingMetaDevice device = new CrashingMetaDevice(64);
        Superblock newest = SuperblockPair.writeBoth(device,
                SuperblockCodecTest.sample().withSequence(1));
        assertThrows(IllegalArgumentException.class,
                () -> SuperblockPair.write(device, newest, newest.withSequence(1)));
    }
}
