package io.repl.agent.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class NbdCountersTest {

    @Test
    void eachAnswerCountsOnceInItsCommandAndItsLatencyBucket() {
        NbdCounters c = new NbdCounters();
        c.answered(Nbd.CMD_WRITE, 4096, false, 40_000);          // 40 µs: first bucket
        c.answered(Nbd.CMD_WRITE, 8192, false, 2_000_000);       // 2 ms: the 2.5 ms bucket
        c.answered(Nbd.CMD_WRITE, 4096, true, 100_000);          // failed: counted, bytes not
        c.answered(Nbd.CMD_READ, 65536, false, 20_000_000_000L); // 20 s: past every bound
        c.answered(Nbd.CMD_FLUSH, 0, false, 1_000);
        assertEquals(3, c.requests(NbdCounters.Op.WRITE));
        assertEquals(12288, c.bytes(NbdCounters.Op.WRITE));
        assertEquals(1, c.errors(NbdCounters.Op.WRITE));
        assertEquals(2_140_000, c.latencySumNanos(NbdCounters.Op.WRITE));
        long[] w = c.cumulativeBuckets(NbdCounters.Op.WRITE);
        assertEquals(NbdCounters.BUCKET_SECONDS.length + 1, w.length);
        assertEquals(1, w[0]);
        assertEquals(2, w[1], "100 µs is within the 100 µs bound");
        assertEquals(3, w[5], "2 ms falls in the 2.5 ms bucket");
        assertEquals(3, w[w.length - 1]);
        long[] r = c.cumulativeBuckets(NbdCounters.Op.READ);
        assertEquals(0, r[r.length - 2]);
        assertEquals(1, r[r.length - 1]);
        assertEquals(65536, c.bytes(NbdCounters.Op.READ));
        assertEquals(0, c.bytes(NbdCounters.Op.FLUSH));
        assertArrayEquals(new long[NbdCounters.BUCKET_SECONDS.length + 1],
                c.cumulativeBuckets(NbdCounters.Op.TRIM));
    }
}
