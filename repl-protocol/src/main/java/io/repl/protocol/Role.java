package io.repl.protocol;

/** A node's role as sent in STATE. */
public enum Role {
    SECONDARY(0, "Secondary"),
    PRIMARY(1, "Primary");

    private final int code;
    private final String displayName;

    Role(int code, String displayName) {
        this.code = code;
        this.displayName = displayName;
    }

    public int code() {
        return code;
    }

    /** The spelling operators see. */
    public String displayName() {
        return displayName;
    }

    static Role fromCode(String field, int code) {
        for (Role r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        throw new ProtocolException(field, "unknown role " + code + "; known are 0 (Secondary) and 1 (Primary)");
    }
}
