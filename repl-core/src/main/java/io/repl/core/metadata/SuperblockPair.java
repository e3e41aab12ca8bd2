package io.repl.core.metadata;

import java.io.IOException;

/**
 * The two superblock copies and the rule that keeps one of them readable through any crash.
 *
 * <p>Copy A (block 0) holds even sequence numbers, copy B (block 1) odd ones. An update takes the
 * newest valid superblock, increments its sequence and therefore writes the other copy, then
 * flushes. A crash during the write tears at most the copy being written, and the checksum makes
 * the reader ignore it and fall back to the copy that was newest before. Reading takes the valid
 * copy with the highest sequence; a copy whose sequence has the wrong parity for its block is a
 * misdirected write and is ignored too.
 */
public final class SuperblockPair {

    private SuperblockPair() {
    }

    /** The newest valid superblock, or an exception naming what is wrong with each copy. */
    public static Superblock read(MetaDevice device) throws IOException, MetadataException {
        byte[] block = new byte[MetaDevice.BLOCK_BYTES];
        Superblock best = null;
        StringBuilder problems = new StringBuilder();
        for (long slot = MetadataLayout.SUPERBLOCK_A_BLOCK;
             slot <= MetadataLayout.SUPERBLOCK_B_BLOCK; slot++) {
            device.read(slot, block);
            try {
                Superblock copy = SuperblockCodec.decode(block);
                if (slotOf(copy.sequence()) != slot) {
                    throw new MetadataException("sequence " + copy.sequence()
                            + " belongs in copy " + name(slotOf(copy.sequence())));
                }
                if (best == null || copy.sequence() > best.sequence()) {
                    best = copy;
                }
            } catch (MetadataException e) {
                problems.append(problems.length() == 0 ? "" : ", ")
                        .append("copy ").append(name(slot)).append(' ').append(e.getMessage());
            }
        }
        if (best == null) {
            throw new MetadataException("no valid superblock: " + problems);
        }
        return best;
    }

    /**
     * Writes {@code changed} as the successor of {@code newest} (the superblock last read or
     * written) into the copy that does not hold {@code newest}, then flushes. Returns what is now
     * on disk, with its new sequence number.
     */
    public static Superblock write(MetaDevice device, Superblock newest, Superblock changed)
            throws IOException {
        Checks.argument(changed.sequence() == newest.sequence(), "superblock update is based on "
                + "sequence " + changed.sequence() + " but the newest on disk is "
                + newest.sequence());
        Superblock next = changed.withSequence(newest.sequence() + 1);
        device.write(slotOf(next.sequence()), SuperblockCodec.encode(next));
        device.flush();
        return next;
    }

    /**
     * Writes both copies of a brand-new superblock ({@code first} must have sequence 1): B gets
     * sequence 1, A sequence 2, each flushed, so either write may tear without losing the other.
     */
    static Superblock writeBoth(MetaDevice device, Superblock first) throws IOException {
        Checks.argument(first.sequence() == 1, "a new superblock starts at sequence 1, got "
                + first.sequence());
        device.write(slotOf(1), SuperblockCodec.encode(first));
        device.flush();
        return write(device, first, first);
    }

    /** Block index of the copy that holds {@code sequence}. */
    static long slotOf(long sequence) {
        return (sequence & 1) == 0 ? MetadataLayout.SUPERBLOCK_A_BLOCK
                : MetadataLayout.SUPERBLOCK_B_BLOCK;
    }

    private static String name(long slot) {
        return slot == MetadataLayout.SUPERBLOCK_A_BLOCK ? "A" : "B";
    }
}
