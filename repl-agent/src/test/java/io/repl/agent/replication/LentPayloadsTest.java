package io.repl.agent.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The payload buffers a Secondary holds between its decoder and its disk writes. */
class LentPayloadsTest {
    private final LentPayloads lent = new LentPayloads();

    @Test
    void aWriteClaimsItsBufferThroughAnyViewOfTheWholePayloadOnce() {
        ByteBuffer b = ByteBuffer.allocateDirect(8192);
        lent.lend(b);
        assertNull(lent.claim(b.duplicate().position(512)), "a part of the payload does not claim it");
        assertNull(lent.claim(b.duplicate().limit(4096)), "nor does a shorter view from its start");
        assertNull(lent.claim(ByteBuffer.allocate(8192)), "nor a heap buffer");
        assertSame(b, lent.claim(b.slice().duplicate()));
        assertNull(lent.claim(b.slice()), "claimed once");
        assertEquals(0, lent.held());
    }

    @Test
    void theOldestArePushedOutPastEitherBound() {
        ByteBuffer first = ByteBuffer.allocateDirect(4096);
        lent.lend(first);
        for (int i = 1; i < LentPayloads.HELD_MAX; i++) {
            lent.lend(ByteBuffer.allocateDirect(4096));
        }
        assertEquals(LentPayloads.HELD_MAX, lent.held());
        assertSame(first, lent.claim(first.duplicate()));
        lent.lend(first);
        ByteBuffer second = ByteBuffer.allocateDirect(4096);
        lent.lend(second);
        assertEquals(LentPayloads.HELD_MAX, lent.held(), "one in, the oldest out");

        lent.clear();
        ByteBuffer big = ByteBuffer.allocateDirect((int) (LentPayloads.HELD_BYTES_MAX / 2));
        lent.lend(big);
        lent.lend(ByteBuffer.allocateDirect((int) (LentPayloads.HELD_BYTES_MAX / 2)));
        lent.lend(ByteBuffer.allocateDirect(4096));
        assertNull(lent.claim(big.duplicate()), "pushed out by the byte bound");
        assertEquals(2, lent.held());
        lent.clear();
        assertEquals(0, lent.held());
    }
}
