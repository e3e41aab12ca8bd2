package io.repl.protocol;

import java.util.ArrayList;
import java.util.List;

/**
 * Optional capabilities offered in HELLO. A feature is used only when both nodes offer it, so
 * the agreed set is the bitwise AND of both offers and the bits this build knows.
 */
public final class Features {
    /** DATA, RS_DATA and CSUM_REPLY payloads may be LZ4-compressed. */
    public static final int LZ4 = 1;
    /** Checksum-based resync (CSUM_REQUEST / CSUM_REPLY) is understood. */
    public static final int CSUM_RESYNC = 1 << 1;
    /** DATA with the TRIM flag is understood (otherwise trims are sent as ZEROES). */
    public static final int TRIM = 1 << 2;
    /** RS_DATA may carry a range of zeroes as encoding 2, with no block bytes. */
    public static final int ZERO_BLOCKS = 1 << 3;
    /** Every bit this build knows. */
    public static final int KNOWN = LZ4 | CSUM_RESYNC | TRIM | ZERO_BLOCKS;
    /**
     * What this build offers: what it implements. Checksum resync is a capability: a node that
     * offers it answers CSUM_REQUEST as a SyncSource; whether it sends CSUM_REQUEST as a
     * SyncTarget is its own configuration's choice ({@code [disk] csums}). Trims are always sent
     * as ZEROES (both copies then read back the same bytes), so TRIM is not offered. LZ4 is
     * taken out by the agent unless {@code [net] compression} asks for it. Zero blocks are
     * offered: a source that offers them may send a range it read as zeroes without its bytes,
     * and a target that offers them writes such a range with its disk's zeroing.
     */
    public static final int OFFERED = LZ4 | CSUM_RESYNC | ZERO_BLOCKS;

    private Features() {
    }

    /**
     * The features both sides will use. Bits unknown to this build are dropped rather than
     * rejected: a newer peer offering more must still be able to talk to us.
     */
    public static int agree(int local, int peer) {
        return local & peer & KNOWN;
    }

    /** True when every bit of {@code feature} is set in {@code features}. */
    public static boolean has(int features, int feature) {
        return (features & feature) == feature;
    }

    /** A readable list for logs, for example {@code [lz4, trim]}. */
    public static String describe(int features) {
        List<String> names = new ArrayList<>();
        if (has(features, LZ4)) {
            names.add("lz4");
        }
        if (has(features, CSUM_RESYNC)) {
            names.add("csum-resync");
        }
        if (has(features, TRIM)) {
            names.add("trim");
        }
        if (has(features, ZERO_BLOCKS)) {
            names.add("zero-blocks");
        }
        int unknown = features & ~KNOWN;
        if (unknown != 0) {
            names.add(String.format("unknown:0x%x", unknown));
        }
        return names.toString();
    }
}
