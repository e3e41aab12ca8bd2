package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A read-only client of an UpToDate Secondary, with two real agents: it is served while the
 * disk is UpToDate, and once the disk leaves UpToDate its reads fail with EIO or its
 * connection is closed, never answered with bytes the disk no longer vouches for. Every block
 * the Primary holds carries a pattern made from its offset, so every byte a reader gets is
 * checked against what the Primary wrote.
 */
class SecondaryReadersIT {
    private static final long DISK = 32L << 20;
    private static final int BLOCK = 4096;
    private static final int READ_BYTES = 64 << 10;
    private static final int NBD_EIO = 5;
    private static final int TFLAG_READ_ONLY = 1 << 1;
    @TempDir
    Path dir;

    /**
     * invalidate on the Secondary marks its disk Inconsistent and starts a full resync into it
     * from the Primary: the reader already connected is cut off, and no read it sends after
     * the command returned is answered with data. After the resync the export serves again.
     */
    @Test
    void invalidateCutsOffTheSecondarysReaderBeforeTheResyncServesAnything() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK, "C").startConnected().initialSync()) {
            long size = writePattern(p);
            try (Reader r = Reader.start(p, size)) {
                r.waitServed(64);
                p.beta.ctl("invalidate", "r0").ok();
                r.diskLeftUpToDate();
                r.assertCutOff();
            }
            assertTrue(p.beta.log().contains("read-only client(s) cut off"), p.beta.log());
            p.waitSynced();
            assertEquals(p.dataHash(p.alpha, size), p.dataHash(p.beta, size), "after the resync");
            assertWholeExportReadsThePattern(p, size);
        }
    }

    /**
     * A Secondary that loses its Primary without a goodbye (here replctl disconnect) keeps a
     * Consistent disk, not an UpToDate one: its reader is cut off, new readers are refused,
     * and once the pair is connected again and the disk UpToDate, readers are served again.
     */
    @Test
    void aSecondaryThatLosesItsPrimaryStopsServingUntilItIsUpToDateAgain() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK, "C").startConnected().initialSync()) {
            long size = writePattern(p);
            try (Reader r = Reader.start(p, size)) {
                r.waitServed(64);
                p.beta.ctl("disconnect", "r0").ok();
                r.diskLeftUpToDate();
                r.assertCutOff();
            }
            assertEquals("Consistent", p.status(p.beta).path("disk").asText());
            try (NbdTestClient c = NbdTestClient.connect(p.socket(p.beta))) {
                c.greet();
                NbdTestClient.OptionReply refused = c.go("r0");
                assertNotEquals(NbdTestClient.REP_ACK, refused.type(), "a Consistent Secondary refuses the export");
                assertTrue(refused.text().contains("disk Consistent"), refused.text());
            }
            p.beta.ctl("connect", "r0").ok();
            p.beta.ctl("wait-connect", "r0", "--timeout", "60").ok();
            p.waitSynced();
            assertWholeExportReadsThePattern(p, size);
        }
    }

    /** The pattern of the block at {@code offset}: its offset, then bytes that follow from it. */
    private static void fillBlock(long offset, byte[] into, int at) {
        ByteBuffer.wrap(into, at, BLOCK).putLong(offset);
        long x = offset * 0x9E3779B97F4A7C15L + 1;
        for (int i = 8; i < BLOCK; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            into[at + i] = (byte) x;
        }
    }

    /** Null if {@code data}, read at {@code offset}, is what the Primary wrote there; else where not. */
    private static String mismatch(long offset, byte[] data) {
        byte[] want = new byte[BLOCK];
        for (int b = 0; b < data.length; b += BLOCK) {
            fillBlock(offset + b, want, 0);
            for (int i = 0; i < BLOCK; i++) {
                if (data[b + i] != want[i]) {
                    return "byte " + (offset + b + i) + " differs from the Primary's";
                }
            }
        }
        return null;
    }

    /** Writes the pattern over the whole export through the Primary; returns the export's size. */
    private static long writePattern(PairFixture p) throws Exception {
        try (NbdTestClient c = NbdTestClient.open(p.socket(p.alpha), "r0")) {
            long size = c.exportSize;
            byte[] chunk = new byte[1 << 20];
            for (long at = 0; at < size; at += chunk.length) {
                int n = (int) Math.min(chunk.length, size - at);
                byte[] part = n == chunk.length ? chunk : new byte[n];
                for (int b = 0; b < n; b += BLOCK) {
                    fillBlock(at + b, part, b);
                }
                assertEquals(0, c.write(at, part, 0), "write at " + at);
            }
            assertEquals(0, c.command(NbdTestClient.CMD_FLUSH, 0, 0, 0), "flush");
            return size;
        }
    }

    /** A fresh read-only client on the Secondary reads the Primary's pattern everywhere. */
    private static void assertWholeExportReadsThePattern(PairFixture p, long size) throws Exception {
        try (NbdTestClient c = NbdTestClient.open(p.socket(p.beta), "r0")) {
            assertTrue((c.transmissionFlags & TFLAG_READ_ONLY) != 0, "the Secondary serves read-only");
            byte[] buf = new byte[1 << 20];
            for (long at = 0; at < size; at += buf.length) {
                byte[] part = at + buf.length <= size ? buf : new byte[(int) (size - at)];
                assertEquals(0, c.read(at, part), "read at " + at);
                String bad = mismatch(at, part);
                assertEquals(null, bad, bad);
            }
        }
    }

    /**
     * Reads the Secondary's export round and round on its own thread, one request at a time,
     * checking every byte; it stops at the first error reply or when the server hangs up.
     */
    private static final class Reader implements AutoCloseable {
        private final NbdTestClient client;
        private final long size;
        private final Thread thread;
        private final List<String> problems = new ArrayList<>();
        private volatile long served;
        /** Set once the command that took the disk out of UpToDate has returned. */
        private volatile boolean leftUpToDate;
        private volatile String end;

        private Reader(NbdTestClient client, long size) {
            this.client = client;
            this.size = size;
            this.thread = new Thread(this::run, "secondary-reader");
        }

        static Reader start(PairFixture p, long size) throws IOException {
            NbdTestClient c = NbdTestClient.open(p.socket(p.beta), "r0");
            assertTrue((c.transmissionFlags & TFLAG_READ_ONLY) != 0, "the Secondary serves read-only");
            Reader r = new Reader(c, size);
            r.thread.start();
            return r;
        }

        private void run() {
            long at = 0;
            try {
                while (true) {
                    // The export need not end on a whole read: the last one is shorter.
                    byte[] buf = new byte[(int) Math.min(READ_BYTES, size - at)];
                    // Read before sending: a request sent after the state change must not get data.
                    boolean sentAfter = leftUpToDate;
                    int error = client.read(at, buf);
                    if (error != 0) {
                        end = "error " + error;
                        return;
                    }
                    String bad = mismatch(at, buf);
                    synchronized (problems) {
                        if (problems.size() >= 10) {
                            // Enough to tell what went wrong.
                        } else if (bad != null) {
                            problems.add(bad);
                        } else if (sentAfter) {
                            problems.add("a read at " + at + " sent after the disk left UpToDate was answered with data");
                        }
                    }
                    served++;
                    at = at + buf.length == size ? 0 : at + buf.length;
                }
            } catch (EOFException e) {
                end = "closed";
            } catch (IOException e) {
                String m = String.valueOf(e.getMessage());
                end = m.contains("Connection reset") || m.contains("Broken pipe") ? "closed" : "failed: " + e;
            }
        }

        void waitServed(long reads) throws Exception {
            NbdClientsIT.waitFor(() -> served >= reads || end != null, reads + " reads served on the Secondary");
            assertEquals(null, end, "the reader ended while the disk was UpToDate");
        }

        void diskLeftUpToDate() {
            leftUpToDate = true;
        }

        /** The reader ended with EIO or a closed connection, and read nothing it should not have. */
        void assertCutOff() throws Exception {
            thread.join(TimeUnit.SECONDS.toMillis(30));
            String problemsNow;
            synchronized (problems) {
                problemsNow = String.join("\n", problems);
            }
            assertEquals("", problemsNow, "after " + served + " reads");
            assertTrue(!thread.isAlive(), "the reader was still served after the disk left UpToDate ("
                    + served + " reads)");
            assertTrue(("error " + NBD_EIO).equals(end) || "closed".equals(end), "how the reader ended: " + end);
        }

        @Override
        public void close() throws Exception {
            client.close();
            thread.join(TimeUnit.SECONDS.toMillis(30));
        }
    }
}
