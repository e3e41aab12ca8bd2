package io.repl.protocol;

/**
 * Always-on validation helpers shared by the message classes. Each failure names the field
 * and states what is allowed, so no rule can be reported without its bound.
 */
final class Check {
    private Check() {
    }

    /** Requires {@code min <= value <= max}. */
    static long range(String field, long value, long min, long max) {
        if (value < min || value > max) {
            throw new ProtocolException(field, value + " is outside " + min + ".." + max + ", the allowed range");
        }
        return value;
    }

    /** Requires {@code value} to be a multiple of {@code alignment}. */
    static void aligned(String field, long value, long alignment) {
        if (value % alignment != 0) {
            throw new ProtocolException(field, value + " is not a multiple of " + alignment);
        }
    }

    /** Requires that no bit outside {@code knownBits} is set. */
    static void knownFlags(String field, long flags, long knownBits) {
        long unknown = flags & ~knownBits;
        if (unknown != 0) {
            throw new ProtocolException(field, String.format(
                    "0x%x has unknown bits 0x%x set; the known bits are 0x%x", flags, unknown, knownBits));
        }
    }

    /** Requires a reserved field to be zero, so a later version can give it a meaning. */
    static void reserved(String field, long value) {
        if (value != 0) {
            throw new ProtocolException(field, "reserved field is " + value + "; it must be 0");
        }
    }

    /**
     * Validates a byte range on the device: a sector-aligned offset, a sector-aligned length in
     * {@code 1..lengthMax}, and an end that neither overflows nor passes the largest device.
     */
    static void blockRange(String type, long offset, long length, long lengthMax) {
        boolean valid = offset >= 0 && offset <= Limits.DEVICE_BYTES_MAX && offset % Limits.SECTOR_BYTES == 0
                && length >= 1 && length <= lengthMax && length % Limits.SECTOR_BYTES == 0
                && offset + length <= Limits.DEVICE_BYTES_MAX;
        if (valid) {
            // Every DATA and resync message built or decoded passes here: the field names
            // below are built only to report a failure.
            return;
        }
        range(type + ".offset", offset, 0, Limits.DEVICE_BYTES_MAX);
        aligned(type + ".offset", offset, Limits.SECTOR_BYTES);
        range(type + ".length", length, 1, lengthMax);
        aligned(type + ".length", length, Limits.SECTOR_BYTES);
        // Both terms are bounded above, so the sum cannot overflow a long.
        if (offset + length > Limits.DEVICE_BYTES_MAX) {
            throw new ProtocolException(type + ".length", "offset " + offset + " + length " + length
                    + " ends past the largest device (" + Limits.DEVICE_BYTES_MAX + " bytes)");
        }
    }

    /** Requires a non-null argument; a null is always a local bug. */
    static <T> T present(String field, T value) {
        if (value == null) {
            throw new ProtocolException(field, "is missing (null)");
        }
        return value;
    }

    /**
     * Validates a node or resource name: 1..63 ASCII letters, digits, '.', '_' or '-', starting
     * with a letter or digit. Names end up in logs and file names, so nothing else is allowed.
     */
    static String name(String field, String name) {
        present(field, name);
        if (name.isEmpty() || name.length() > Limits.NAME_BYTES_MAX) {
            throw new ProtocolException(field, "length " + name.length() + " is outside 1.."
                    + Limits.NAME_BYTES_MAX);
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            boolean punctuation = i > 0 && (c == '.' || c == '_' || c == '-');
            if (!alnum && !punctuation) {
                throw new ProtocolException(field, "character " + printable(c) + " at index " + i
                        + " is not allowed; names are [A-Za-z0-9][A-Za-z0-9._-]*");
            }
        }
        return name;
    }

    /**
     * Validates a human-readable text: at most {@code bytesMax} UTF-8 bytes and no control
     * characters, which would let a peer forge lines in our logs.
     */
    static String text(String field, String text, int bytesMax) {
        present(field, text);
        int bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        range(field + "Length", bytes, 0, bytesMax);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isISOControl(c) || Character.isSurrogate(c) && !validSurrogate(text, i)) {
                throw new ProtocolException(field, String.format(
                        "character U+%04X at index %d is not allowed (no control characters)", (int) c, i));
            }
        }
        return text;
    }

    private static boolean validSurrogate(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }

    private static String printable(char c) {
        return c >= 0x20 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
    }
}
