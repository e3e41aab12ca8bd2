package io.repl.core.metadata;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One bit per 4 KiB data block: set means "this block may differ from the peer's copy".
 *
 * <p>Held in memory as one {@code long[]} (bit {@code b} is bit {@code b % 64} of word
 * {@code b / 64}), so a 64 GiB volume costs 2 MiB. On disk it is the same words, little-endian,
 * in 4 KiB pages of 32768 bits each; the bitmap remembers which pages changed since they were
 * last written so a persist writes only those. Bits past the end of the data are always zero.
 *
 * <p>Pages carry no checksum on purpose: a torn page mixes old and new 512-byte sectors, and
 * either version of every bit is acceptable (a set bit written before an acknowledgement is set
 * in both), whereas a checksum would turn a torn page into an unreadable one.
 */
public final class DirtyBitmap {

    private static final int WORDS_PER_PAGE = MetaDevice.BLOCK_BYTES / Long.BYTES;
    private static final int WORD_SHIFT = 6;
    private static final int PAGE_WORD_SHIFT = 9;

    private final long dataBytes;
    private final long blocks;
    private final long[] words;
    private final long[] changedPages;
    private final int pageCount;
    private long dirtyBlocks;

    /** An all-clean bitmap for {@code dataBytes} (a positive multiple of 4096). */
    public DirtyBitmap(long dataBytes) {
        Checks.argument(dataBytes > 0 && dataBytes <= MetadataLayout.DATA_BYTES_MAX
                        && dataBytes % MetadataLayout.BITMAP_GRANULE_BYTES == 0,
                "data size " + dataBytes + " must be a positive multiple of "
                        + MetadataLayout.BITMAP_GRANULE_BYTES + " up to "
                        + MetadataLayout.DATA_BYTES_MAX);
        this.dataBytes = dataBytes;
        this.blocks = dataBytes / MetadataLayout.BITMAP_GRANULE_BYTES;
        this.words = new long[Math.toIntExact(MetadataLayout.ceilDiv(blocks, Long.SIZE))];
        this.pageCount = Math.toIntExact(MetadataLayout.bitmapBlocksFor(dataBytes));
        this.changedPages = new long[Math.toIntExact(MetadataLayout.ceilDiv(pageCount,
                Long.SIZE))];
    }

    /** Reads every page of the bitmap described by {@code layout}. */
    public static DirtyBitmap load(MetaDevice device, MetadataLayout layout)
            throws IOException, MetadataException {
        DirtyBitmap bitmap = new DirtyBitmap(layout.dataBytes());
        byte[] block = new byte[MetaDevice.BLOCK_BYTES];
        ByteBuffer buf = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        for (int page = 0; page < bitmap.pageCount; page++) {
            device.read(layout.bitmapOffsetBlocks() + page, block);
            bitmap.loadPage(page, buf);
        }
        return bitmap;
    }

    /**
     * Bits past the last data block mean nothing. A resize that grew external metadata in place
     * and crashed before its superblock switched leaves the new area's bits in the old last page;
     * the old geometry ignores them, and the page is rewritten without them at the next persist.
     */
    private void loadPage(int page, ByteBuffer buf) {
        int firstWord = page << PAGE_WORD_SHIFT;
        for (int i = 0; i < WORDS_PER_PAGE; i++) {
            long word = buf.getLong(i * Long.BYTES);
            int index = firstWord + i;
            long valid = index < words.length ? validMask(index) : 0;
            if ((word & ~valid) != 0) {
                changedPages[page >>> WORD_SHIFT] |= 1L << page;
                word &= valid;
            }
            if (word != 0) {
                words[index] = word;
                dirtyBlocks += Long.bitCount(word);
            }
        }
    }

    /**
     * This bitmap for {@code newDataBytes} of data (an online resize): the bits of the blocks
     * both sizes hold, the rest clean; every page counts as changed.
     */
    public DirtyBitmap resizedCopy(long newDataBytes) {
        DirtyBitmap copy = new DirtyBitmap(newDataBytes);
        int shared = Math.min(words.length, copy.words.length);
        for (int index = 0; index < shared; index++) {
            long word = words[index] & copy.validMask(index);
            copy.words[index] = word;
            copy.dirtyBlocks += Long.bitCount(word);
        }
        copy.markAllPagesChanged();
        return copy;
    }

    /** The bits of word {@code index} that stand for data blocks. */
    private long validMask(int index) {
        long firstBit = (long) index << WORD_SHIFT;
        long remaining = blocks - firstBit;
        return remaining >= Long.SIZE ? -1L : (1L << remaining) - 1;
    }

    public long dataBytes() {
        return dataBytes;
    }

    /** Number of 4 KiB data blocks (bits). */
    public long blocks() {
        return blocks;
    }

    /** Number of dirty blocks, kept up to date by every change. */
    public long dirtyBlocks() {
        return dirtyBlocks;
    }

    /** Bytes that would be resynced. */
    public long dirtyBytes() {
        return dirtyBlocks * MetadataLayout.BITMAP_GRANULE_BYTES;
    }

    public boolean isDirty(long block) {
        checkBlock(block);
        return (words[(int) (block >>> WORD_SHIFT)] & (1L << block)) != 0;
    }

    /**
     * Marks every block touched by {@code length} bytes at {@code offset} dirty; partial blocks
     * count as touched. Returns how many blocks became dirty.
     */
    public long markDirty(long offset, long length) {
        checkRange(offset, length);
        if (length == 0) {
            return 0;
        }
        long first = offset / MetadataLayout.BITMAP_GRANULE_BYTES;
        long end = MetadataLayout.ceilDiv(offset + length, MetadataLayout.BITMAP_GRANULE_BYTES);
        return setBlocks(first, end);
    }

    /**
     * Marks clean every block wholly inside {@code length} bytes at {@code offset}; a partly
     * covered block stays as it is, since the rest of it may still differ. Returns how many
     * blocks became clean.
     */
    public long markClean(long offset, long length) {
        checkRange(offset, length);
        long first = MetadataLayout.ceilDiv(offset, MetadataLayout.BITMAP_GRANULE_BYTES);
        long end = (offset + length) / MetadataLayout.BITMAP_GRANULE_BYTES;
        return first < end ? clearBlocks(first, end) : 0;
    }

    /** Marks the whole device dirty, for a full sync. */
    public long markAllDirty() {
        return setBlocks(0, blocks);
    }

    /** Sets blocks {@code [first, end)}; returns how many were clean before. */
    public long setBlocks(long first, long end) {
        checkBlockRange(first, end);
        long before = dirtyBlocks;
        if (first < end) {
            applyRange(first, end, true);
        }
        return dirtyBlocks - before;
    }

    /** Clears blocks {@code [first, end)}; returns how many were dirty before. */
    public long clearBlocks(long first, long end) {
        checkBlockRange(first, end);
        long before = dirtyBlocks;
        if (first < end) {
            applyRange(first, end, false);
        }
        return before - dirtyBlocks;
    }

    /** Whole words in the middle take one store each; only the two ends need masks. */
    private void applyRange(long first, long end, boolean set) {
        int firstWord = (int) (first >>> WORD_SHIFT);
        int lastWord = (int) ((end - 1) >>> WORD_SHIFT);
        long firstMask = -1L << first;
        long lastMask = -1L >>> (Long.SIZE - 1 - ((end - 1) & (Long.SIZE - 1)));
        if (firstWord == lastWord) {
            applyWord(firstWord, firstMask & lastMask, set);
            return;
        }
        applyWord(firstWord, firstMask, set);
        for (int index = firstWord + 1; index < lastWord; index++) {
            applyWord(index, -1L, set);
        }
        applyWord(lastWord, lastMask, set);
    }

    private void applyWord(int index, long mask, boolean set) {
        long old = words[index];
        long next = set ? old | mask : old & ~mask;
        if (next != old) {
            words[index] = next;
            dirtyBlocks += set ? Long.bitCount(next ^ old) : -Long.bitCount(next ^ old);
            int page = index >>> PAGE_WORD_SHIFT;
            changedPages[page >>> WORD_SHIFT] |= 1L << page;
        }
    }

    /** The first dirty block at or after {@code from}, or -1 when there is none. */
    public long nextDirtyBlock(long from) {
        checkFrom(from);
        if (from >= blocks) {
            return -1;
        }
        int index = (int) (from >>> WORD_SHIFT);
        long word = words[index] & (-1L << from);
        for (int step = 0; step < words.length; step++) {
            if (word != 0) {
                return ((long) index << WORD_SHIFT) + Long.numberOfTrailingZeros(word);
            }
            index++;
            if (index >= words.length) {
                return -1;
            }
            word = words[index];
        }
        throw new IllegalStateException("bitmap scan ran past " + words.length + " words");
    }

    /**
     * The first clean block at or after {@code from}, or {@link #blocks()} when every block from
     * there on is dirty. With {@link #nextDirtyBlock} this walks dirty runs.
     */
    public long nextCleanBlock(long from) {
        return nextCleanBlock(from, blocks);
    }

    /**
     * {@code Math.min(nextCleanBlock(from), limit)}, reading no word past {@code limit}: a resync
     * takes runs of at most 1 MiB, and on a mostly dirty bitmap the unbounded scan would read to
     * the end of the device for each of them (a full sync would cost quadratic time).
     */
    public long nextCleanBlock(long from, long limit) {
        checkFrom(from);
        long end = Math.min(limit, blocks);
        if (from >= end) {
            return from >= blocks ? end : limit;
        }
        int index = (int) (from >>> WORD_SHIFT);
        int lastIndex = (int) ((end - 1) >>> WORD_SHIFT);
        long word = ~words[index] & (-1L << from);
        for (; index < lastIndex && word == 0; index++) {
            word = ~words[index + 1];
        }
        return word == 0 ? end : Math.min(end, ((long) index << WORD_SHIFT) + Long.numberOfTrailingZeros(word));
    }

    /** Number of pages changed since they were last written. */
    public int changedPageCount() {
        int count = 0;
        for (long word : changedPages) {
            count += Long.bitCount(word);
        }
        return count;
    }

    /** Number of bitmap pages on disk. */
    public int pageCount() {
        return pageCount;
    }

    /** Forgets which pages changed and marks every page as changed, so the next persist writes all. */
    public void markAllPagesChanged() {
        for (int page = 0; page < pageCount; page++) {
            changedPages[page >>> WORD_SHIFT] |= 1L << page;
        }
    }

    /**
     * Writes every changed page to {@code layout}'s bitmap area and forgets the changes. Does not
     * flush: the caller orders the flush against whatever depends on these pages. Returns the
     * number of pages written.
     */
    public int persistChanged(MetaDevice device, MetadataLayout layout) throws IOException {
        return persistPages(device, layout, 0, pageCount);
    }

    /**
     * As {@link #persistChanged} but only for the pages covering {@code length} bytes at
     * {@code offset}: what must be durable before an activity log extent may be dropped.
     */
    public int persistChangedIn(MetaDevice device, MetadataLayout layout, long offset,
                                long length) throws IOException {
        checkRange(offset, length);
        if (length == 0) {
            return 0;
        }
        long firstPage = offset / MetadataLayout.DATA_BYTES_PER_PAGE;
        long endPage = MetadataLayout.ceilDiv(offset + length, MetadataLayout.DATA_BYTES_PER_PAGE);
        return persistPages(device, layout, (int) firstPage, (int) endPage);
    }

    private int persistPages(MetaDevice device, MetadataLayout layout, int firstPage,
                             int endPage) throws IOException {
        Checks.argument(layout.dataBytes() == dataBytes, "layout for " + layout.dataBytes()
                + " data bytes does not match this bitmap of " + dataBytes);
        byte[] block = new byte[MetaDevice.BLOCK_BYTES];
        ByteBuffer buf = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        int written = 0;
        for (int page = firstPage; page < endPage; page++) {
            if ((changedPages[page >>> WORD_SHIFT] & (1L << page)) == 0) {
                continue;
            }
            encodePage(page, buf);
            device.write(layout.bitmapOffsetBlocks() + page, block);
            changedPages[page >>> WORD_SHIFT] &= ~(1L << page);
            written++;
        }
        return written;
    }

    private void encodePage(int page, ByteBuffer buf) {
        int firstWord = page << PAGE_WORD_SHIFT;
        for (int i = 0; i < WORDS_PER_PAGE; i++) {
            int index = firstWord + i;
            buf.putLong(i * Long.BYTES, index < words.length ? words[index] : 0);
        }
    }

    // The checks test before they build their message: they run on every bitmap call of the
    // write and resync paths, where concatenating an unused message cost more than the work.

    private void checkRange(long offset, long length) {
        if (offset < 0 || length < 0 || length > dataBytes - offset) {
            Checks.argument(false, "range of " + length + " bytes at " + offset
                    + " is outside the data (0.." + dataBytes + ")");
        }
    }

    private void checkBlockRange(long first, long end) {
        if (first < 0 || first > end || end > blocks) {
            Checks.argument(false, "block range [" + first + ", " + end + ") is outside 0.." + blocks);
        }
    }

    private void checkBlock(long block) {
        if (block < 0 || block >= blocks) {
            Checks.argument(false, "block " + block + " is outside 0.." + (blocks - 1));
        }
    }

    private void checkFrom(long from) {
        if (from < 0) {
            Checks.argument(false, "scan start " + from + " is negative");
        }
    }

}
