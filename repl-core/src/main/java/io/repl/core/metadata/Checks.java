package io.repl.core.metadata;

/** Always-on argument checks; Java {@code assert} is off by default, these are not. */
final class Checks {

    private Checks() {
    }

    static void argument(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }

    static void state(boolean condition, String message) {
        if (!condition) {
            throw new IllegalStateException(message);
        }
    }

    static void blockBuffer(byte[] block) {
        if (block == null || block.length != MetaDevice.BLOCK_BYTES) {
            throw new IllegalArgumentException("a metadata block buffer must be exactly "
                    + MetaDevice.BLOCK_BYTES + " bytes, got "
                    + (block == null ? "null" : block.length + " bytes"));
        }
    }
}
