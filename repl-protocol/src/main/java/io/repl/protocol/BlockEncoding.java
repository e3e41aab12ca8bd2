package io.repl.protocol;

/** How a block-carrying message stores its block on the wire. */
enum BlockEncoding {
    /** The block bytes as they are. */
    RAW(0),
    /** One LZ4 block; the uncompressed length is the message's length field. */
    LZ4(1),
    /**
     * No bytes: the range reads as zeroes. Only in RS_DATA, and only when both nodes offered
     * {@link Features#ZERO_BLOCKS}.
     */
    ZEROES(2);

    private final int code;

    BlockEncoding(int code) {
        this.code = code;
    }

    int code() {
        return code;
    }

    static BlockEncoding fromCode(String field, int code) {
        for (BlockEncoding e : values()) {
            if (e.code == code) {
                return e;
            }
        }
        throw new ProtocolException(field, "unknown block encoding " + code + "; known are 0 (raw), 1 (lz4) and 2 (zeroes, RS_DATA only)");
    }
}
