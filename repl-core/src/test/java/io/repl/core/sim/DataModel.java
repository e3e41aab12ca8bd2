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
    /** Per block: values a power loss left behind, allowed until a newer write is acknowledged. */
    private final Map<Integer, java.util.TreeSet<Long>> reverted = new TreeMap<>();
    /** The newest version issued when the last power loss happened. */
    private long issuedAtPowerLoss;
    private long issuedMax;
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
        issuedMax = Math.max(issuedMax, version);
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
            if (version > issuedAtPowerLoss) {
                // Only a write issued after the power loss supersedes what it left behind: an
                // older one may have been acknowledged by a node that lost it a moment later.
                reverted.remove(block);
            }
        }
    }

    boolean allows(int block, long value) {
        if (value == ackedValue[block]) {
            return true;
        }
        java.util.TreeSet<Long> left = reverted.get(block);
        if (left != null && left.contains(value)) {
            return true;
        }
        TreeMap<Long, Long> pending = uncertain.get(block);
        return pending != null && pending.containsValue(value);
    }

    /** Whether a power loss left {@code value} behind in {@code block} (and no newer write was acknowledged). */
    boolean revertedTo(int block, long value) {
        java.util.TreeSet<Long> left = reverted.get(block);
        return left != null && left.contains(value);
    }

    /** What power losses left behind now, per block: a flush promise is judged against this. */
    Map<Integer, java.util.Set<Long>> revertedNow() {
        Map<Integer, java.util.Set<Long>> copy = new TreeMap<>();
        reverted.forEach((block, values) -> copy.put(block, java.util.Set.copyOf(values)));
        return copy;
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

    /**
     * A node lost power: writes it acknowledged but never flushed may be gone from its disk,
     * which NBD allows, and its copy may later win a resync (its activity-log extents). What
     * its disk holds now becomes an allowed value of each block, instead of the model giving
     * up: the checks stay on for every other block and every later write.
     */
    void powerLoss(SimDisk disk) {
        issuedAtPowerLoss = issuedMax;
        for (int block = 0; block < ackedValue.length; block++) {
            // Even a value equal to the acknowledged one: a write in flight at the loss may be
            // acknowledged a moment later by the peer's answer, and still be gone here.
            long value = BlockPattern.versionOf(disk.block(block), block);
            reverted.computeIfAbsent(block, b -> new java.util.TreeSet<>()).add(value);
        }
    }

    /** Takes what a healed, identical pair holds as the truth from now on. */
    void rebase(SimDisk disk) {
        uncertain.clear();
        reverted.clear();
        for (int block = 0; block < ackedValue.length; block++) {
            ackedValue[block] = BlockPattern.versionOf(disk.block(block), block);
        }
        valid = true;
        invalidReason = "";
    }
}
