package io.repl.agent.it;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What a client was promised, block by block: for every 4 KiB block the highest version whose
 * write was acknowledged with success, and the highest version ever sent to it. Afterwards
 * any replica (an NBD export, possibly another node's, or a backing file) can be checked
 * against it: an acknowledged write is lost when its block holds an older version, another
 * block's data, something that is not a stamp at all, or cannot be read.
 *
 * <p>Each block is written as one stamp, {@code (block, version, ~block)} repeated over the
 * 4 KiB, so a block that landed at the wrong offset, a torn block and a block of zeroes are
 * told apart from an old one. Versions are global and only grow, so one ledger can follow
 * several writer sessions in sequence (writes on alpha, a failover, writes on beta) and a
 * later session's writes always supersede an earlier one's.
 *
 * <p>Thread-safe: a {@link RecordingWriter}'s sender and reply threads update it concurrently.
 * Writers that run at the same time must use disjoint blocks: the ledger cannot tell which of
 * two concurrent writes to one block the server applied last.
 */
final class AckLedger {
    static final int BLOCK = 4096;
    private static final int STAMP = 16;

    private final int blocks;
    private final AtomicLong lastVersion = new AtomicLong();
    private final AtomicLongArray acked;
    private final AtomicLongArray sent;

    AckLedger(int blocks) {
        if (blocks <= 0) {
            throw new IllegalArgumentException("blocks must be positive: " + blocks);
        }
        this.blocks = blocks;
        this.acked = new AtomicLongArray(blocks);
        this.sent = new AtomicLongArray(blocks);
    }

    int blocks() {
        return blocks;
    }

    /** The next version to stamp a write with; versions start at 1 (0 means "never"). */
    long nextVersion() {
        return lastVersion.incrementAndGet();
    }

    long lastVersion() {
        return lastVersion.get();
    }

    /** Records that {@code version} is about to go to {@code block}: call it before sending. */
    void sent(int block, long version) {
        sent.accumulateAndGet(block, version, Math::max);
    }

    /** Records that the write of {@code version} to {@code block} was acknowledged with success. */
    void acknowledged(int block, long version) {
        if (version > sent.get(block)) {
            throw new IllegalStateException("block " + block + ": version " + version + " acknowledged but never sent");
        }
        acked.accumulateAndGet(block, version, Math::max);
    }

    /** The highest acknowledged version of {@code block}, 0 if none. */
    long ackedVersion(int block) {
        return acked.get(block);
    }

    /** The highest version ever sent to {@code block}, 0 if none. */
    long sentVersion(int block) {
        return sent.get(block);
    }

    /**
     * A copy of the ledger as it stands now, while writers may go on: e.g. what a node must
     * hold that was cut off at this moment. Each block's acknowledged version is read before
     * its sent version, so the copy never has a block acknowledged beyond what it was sent;
     * a write sent while the copy is taken may or may not be in it as sent, which only allows
     * one more version.
     */
    AckLedger snapshot() {
        AckLedger copy = new AckLedger(blocks);
        copy.lastVersion.set(lastVersion.get());
        for (int i = 0; i < blocks; i++) {
            copy.acked.set(i, acked.get(i));
            copy.sent.set(i, sent.get(i));
        }
        return copy;
    }

    /** How many blocks hold at least one acknowledged write: what a verify checks. */
    int acknowledgedBlocks() {
        int n = 0;
        for (int i = 0; i < blocks; i++) {
            if (acked.get(i) != 0) {
                n++;
            }
        }
        return n;
    }

    /** The 4 KiB a write of {@code version} to {@code block} carries. */
    static byte[] stamp(int block, long version) {
        ByteBuffer b = ByteBuffer.allocate(BLOCK);
        while (b.hasRemaining()) {
            b.putInt(block).putLong(version).putInt(~block);
        }
        return b.array();
    }

    /** Where verify reads a block from. */
    interface BlockSource {
        /** The block's 4 KiB; an IOException (or a short array) makes the block unreadable. */
        byte[] read(int block) throws IOException;
    }

    enum Kind {
        /** The block holds a stamp written for another block: data landed at the wrong offset. */
        OTHER_BLOCK,
        /** The block holds an older version than the last one acknowledged: a lost write. */
        OLDER_THAN_ACKED,
        /** The block holds a version that was never sent to it. */
        NEWER_THAN_SENT,
        /** Not one stamp repeated: torn, zeroes, or someone else's bytes. */
        NOT_A_STAMP,
        /** The read failed or came back short. */
        UNREADABLE
    }

    /** One acknowledged block that does not hold what it should. */
    record Violation(int block, Kind kind, long acked, long sent, String found) {
        @Override
        public String toString() {
            return "block " + block + " " + kind + ": acknowledged v" + acked + ", latest sent v" + sent + ", found "
                    + found;
        }
    }

    /** The outcome of one verify: {@code checked} acknowledged blocks, of which these violate. */
    record Report(String source, int checked, List<Violation> violations) {
        boolean ok() {
            return violations.isEmpty();
        }

        Map<Kind, Integer> counts() {
            Map<Kind, Integer> counts = new EnumMap<>(Kind.class);
            for (Violation v : violations) {
                counts.merge(v.kind(), 1, Integer::sum);
            }
            return counts;
        }

        /** A message naming the counts and the first {@code max} violations. */
        String describe(int max) {
            StringBuilder s = new StringBuilder();
            s.append(source).append(": ").append(violations.size()).append(" of ").append(checked)
                    .append(" acknowledged blocks violate the ledger");
            if (!violations.isEmpty()) {
                s.append(' ').append(counts()).append("; first ").append(Math.min(max, violations.size()))
                        .append(':');
                for (Violation v : violations.subList(0, Math.min(max, violations.size()))) {
                    s.append("\n  ").append(v);
                }
            }
            return s.toString();
        }

        /** Fails unless every checked block holds what it should and at least one was checked. */
        Report assertOk() {
            return assertOk("");
        }

        /** {@link #assertOk()}, with {@code context} (logs, say) at the end of the failure message. */
        Report assertOk(String context) {
            if (checked == 0) {
                throw new AssertionError(source + ": nothing to verify, no write was ever acknowledged");
            }
            if (!ok()) {
                throw new AssertionError(describe(10) + context);
            }
            return this;
        }
    }

    /**
     * Checks every block that ever had an acknowledged write against {@code source}: it must
     * hold its own stamp with a version at least the last acknowledged one (a later write that
     * was in flight may have landed too) and at most the last one sent.
     */
    Report verify(BlockSource source, String name) {
        int checked = 0;
        List<Violation> violations = new ArrayList<>();
        for (int block = 0; block < blocks; block++) {
            long want = acked.get(block);
            if (want == 0) {
                continue;
            }
            checked++;
            long max = sent.get(block);
            byte[] data;
            try {
                data = source.read(block);
            } catch (IOException e) {
                violations.add(new Violation(block, Kind.UNREADABLE, want, max, String.valueOf(e.getMessage())));
                continue;
            }
            if (data == null || data.length < BLOCK) {
                violations.add(new Violation(block, Kind.UNREADABLE, want, max,
                        data == null ? "nothing" : "only " + data.length + " bytes"));
                continue;
            }
            ByteBuffer b = ByteBuffer.wrap(data, 0, BLOCK);
            int stampedBlock = b.getInt();
            long version = b.getLong();
            int check = b.getInt();
            String notStamp = notAStamp(data, stampedBlock, check);
            if (notStamp != null) {
                violations.add(new Violation(block, Kind.NOT_A_STAMP, want, max, notStamp));
            } else if (stampedBlock != block) {
                violations.add(new Violation(block, Kind.OTHER_BLOCK, want, max,
                        "block " + stampedBlock + "'s v" + version));
            } else if (version < want) {
                violations.add(new Violation(block, Kind.OLDER_THAN_ACKED, want, max, "v" + version));
            } else if (version > max) {
                violations.add(new Violation(block, Kind.NEWER_THAN_SENT, want, max, "v" + version));
            }
        }
        return new Report(name, checked, List.copyOf(violations));
    }

    /** Null if {@code data} is one well-formed stamp repeated, else what it is instead. */
    private static String notAStamp(byte[] data, int stampedBlock, int check) {
        boolean zeroes = true;
        for (int i = 0; i < BLOCK && zeroes; i++) {
            zeroes = data[i] == 0;
        }
        if (zeroes) {
            return "all zeroes";
        }
        if (check != ~stampedBlock) {
            return "no stamp at offset 0";
        }
        for (int off = STAMP; off < BLOCK; off += STAMP) {
            if (!java.util.Arrays.equals(data, 0, STAMP, data, off, off + STAMP)) {
                ByteBuffer other = ByteBuffer.wrap(data, off, STAMP);
                return "a torn block: block " + stampedBlock + "'s v" + ByteBuffer.wrap(data, 4, 8).getLong()
                        + " at offset 0 but (" + other.getInt() + ", v" + other.getLong() + ") at offset " + off;
            }
        }
        return null;
    }

    /**
     * Verifies through an NBD export, e.g. the new Primary's after a failover. A connection that
     * breaks makes the block being read unreadable; the next block tries a new connection.
     */
    Report verify(Path nbdSocket, String export) {
        try (NbdSource source = new NbdSource(nbdSocket, export)) {
            return verify(source, "export " + export + " at " + nbdSocket);
        }
    }

    /** Verifies a node's backing file directly: the data area starts at offset 0. */
    Report verifyFile(Path backingFile) throws IOException {
        try (FileChannel ch = FileChannel.open(backingFile, StandardOpenOption.READ)) {
            return verify(block -> {
                ByteBuffer b = ByteBuffer.allocate(BLOCK);
                long at = (long) block * BLOCK;
                while (b.hasRemaining()) {
                    if (ch.read(b, at + b.position()) < 0) {
                        throw new IOException("the file ends at " + (at + b.position()));
                    }
                }
                return b.array();
            }, "file " + backingFile);
        }
    }

    /** Fails naming the first violations and their counts unless the export holds every acknowledged write. */
    Report assertNothingLost(Path nbdSocket, String export) {
        return verify(nbdSocket, export).assertOk();
    }

    /** Fails naming the first violations and their counts unless the file holds every acknowledged write. */
    Report assertNothingLostInFile(Path backingFile) throws IOException {
        return verifyFile(backingFile).assertOk();
    }

    /** Reads blocks over one NBD connection, reconnecting after a failure. */
    private static final class NbdSource implements BlockSource, AutoCloseable {
        private final Path socket;
        private final String export;
        private NbdTestClient client;

        NbdSource(Path socket, String export) {
            this.socket = socket;
            this.export = export;
        }

        @Override
        public byte[] read(int block) throws IOException {
            if (client == null) {
                client = NbdTestClient.open(socket, export);
            }
            byte[] data = new byte[BLOCK];
            int error;
            try {
                error = client.read((long) block * BLOCK, data);
            } catch (IOException e) {
                close();
                throw e;
            }
            if (error != 0) {
                throw new IOException("read failed with errno " + error);
            }
            return data;
        }

        @Override
        public void close() {
            if (client != null) {
                try {
                    client.close();
                } catch (IOException ignored) {
                    // nothing left to read from it
                }
                client = null;
            }
        }
    }
}
