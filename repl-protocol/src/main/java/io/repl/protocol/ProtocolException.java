package io.repl.protocol;

/**
 * A peer sent bytes that break the wire protocol, or a message was built with a value the
 * protocol does not allow.
 *
 * <p>This is an operating error, not a programmer error: the connection that produced it is
 * closed and everything else carries on. It is unchecked so that message records can
 * validate in their constructors, but every decoder entry point documents that it throws it.
 * The message always names the offending field and what is allowed, because an operator
 * reading the log has nothing else to go on.
 */
public final class ProtocolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String field;

    /**
     * @param field the field that was wrong, as {@code MESSAGE.field} or {@code header.field}
     * @param detail what was wrong and what is allowed
     */
    public ProtocolException(String field, String detail) {
        super(field + ": " + detail);
        this.field = field;
    }

    /** Wraps a lower-level failure (an LZ4 error, say) while still naming the field. */
    public ProtocolException(String field, String detail, Throwable cause) {
        super(field + ": " + detail, cause);
        this.field = field;
    }

    /** The field that was wrong, for example {@code DATA.offset} or {@code header.magic}. */
    public String field() {
        return field;
    }
}
