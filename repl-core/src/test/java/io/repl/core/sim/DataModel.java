package io.repl.core.sim;

import java.util.Map;
import java.util.TreeMap;

/**
 * What each block may hold: the last acknowledged write's value, or the value of a write issued
 * later whose outcome is unknown (in flight, failed, or lost in a crash). Values are what
 * {@link BlockPattern#versionOf} reads: a write's version, or 0 for zeroes.
 */
final class DataModel {
    private final long[] ackedVersion;
    private final long[] ackedValue;
    /** Per block: the version of the newest zeroes write issued (0 is what any of them reads as). */
    private final long[] zeroesIssuedVersion;
    /** Per block: version to value of writes issued after the acknowledged one. */
    private final Map<Integer, TreeMap<Long, Long>> uncertain = new TreeMap<>();
    private boolean valid = true;
    private String invalidReason = "";

    DataModel(int blocks) {
        ackedVersion = new long[blocks];
        ackedValue = new long[blocks];
        zeroesIssuedVersion = new long[blocks];
    }

    boolean valid() {
        return valid;
    }

    String invalidReason() {
        return invalidReason;
    }

    /** Acknowledged writes may legitimately be gone (split brain, protocol A/B failover, --force). */
    void invalidate(String reason) {
        if (valid) {
            valid = false;
            invalidReason = reason;
        }
    }

    void issued(int block, long version, long value) {
        if (value == 0) {
            zeroesIssuedVersion[block] = version;
        }
        uncertain.computeIfAbsent(block, b -> new TreeMap<>()).put(version, value);
    }

    void acknowledged(int block, long version, long value) {
        TreeMap<Long, Long> pending = uncertain.get(block);
        if (pending != null) {
            pending.remove(version);
            pending.headMap(version).clear();
            if (pending.isEmpty()) {
                uncertain.remove(block);
            }
        }
        if (version > ackedVersion[block]) {
            ackedVersion[block] = version;
            ackedValue[block] = value;
        }
    }

    boolean allows(int block, long value) {
        if (value == ackedValue[block]) {
            return true;
        }
        TreeMap<Long, Long> pending = uncertain.get(block);
        return pending != null && pending.containsValue(value);
    }

    /** Whether a zeroes write newer than {@code version} was issued to {@code block}. */
    boolean zeroedAfter(int block, long version) {
        return zeroesIssuedVersion[block] > version;
    }

    long[] ackedVersions() {
        return ackedVersion.clone();
    }

    long[] ackedValues() {
        return ackedValue.clone();
    }

    long acked(int block) {
        return ackedValue[block];
    }

    /** Takes what a healed, identical pair holds as the truth from now on. */
    void rebase(SimDisk disk) {
        uncertain.clear();
        for (int block = 0; block < ackedValue.length; block++) {
            ackedValue[block] = BlockPattern.versionOf(disk.block(block), block);
        }
        valid = true;
        invalidReason = "";
    }
}
