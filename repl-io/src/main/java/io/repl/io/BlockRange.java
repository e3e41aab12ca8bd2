package io.repl.io;

/** The one rule every engine applies to a request's range before it touches the disk. */
public final class BlockRange {
    private BlockRange() {}

    /**
     * Whether {@code length} bytes at {@code offset} are aligned to {@code alignment} (a power
     * of two) and lie wholly inside a volume of {@code sizeBytes}, without overflow.
     */
    public static boolean valid(long offset, long length, int alignment, long sizeBytes) {
        long mask = alignment - 1;
        return offset >= 0 && length >= 0 && (offset & mask) == 0 && (length & mask) == 0
                && offset <= sizeBytes - length;
    }
}
