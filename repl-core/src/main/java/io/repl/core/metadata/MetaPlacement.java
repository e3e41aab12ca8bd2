package io.repl.core.metadata;

/** Where the metadata area lives relative to the data it describes. */
public enum MetaPlacement {
    /** The tail of the backing device, right after the last data byte. */
    INTERNAL(1),
    /** A separate file (or device); the area starts at its offset 0. */
    EXTERNAL(2);

    private final int code;

    MetaPlacement(int code) {
        this.code = code;
    }

    /** The value stored in the superblock. */
    public int code() {
        return code;
    }

    /** The placement stored as {@code code}, or null when no placement has that code. */
    static MetaPlacement fromCode(int code) {
        for (MetaPlacement placement : values()) {
            if (placement.code == code) {
                return placement;
            }
        }
        return null;
    }
}
