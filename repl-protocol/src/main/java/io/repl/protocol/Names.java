package io.repl.protocol;

/** The rule for node and resource names, public so configuration can apply it early. */
public final class Names {
    private Names() {
    }

    /**
     * Returns {@code name} when it is 1..63 ASCII letters, digits, '.', '_' or '-' starting
     * with a letter or digit.
     *
     * @throws ProtocolException naming {@code field} otherwise
     */
    public static String requireValid(String field, String name) {
        return Check.name(field, name);
    }
}
