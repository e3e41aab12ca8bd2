package io.repl.protocol;

/** A node's disk state as sent in STATE. */
public enum DiskState {
    DISKLESS(0, "Diskless"),
    ATTACHING(1, "Attaching"),
    INCONSISTENT(2, "Inconsistent"),
    OUTDATED(3, "Outdated"),
    CONSISTENT(4, "Consistent"),
    UP_TO_DATE(5, "UpToDate"),
    FAILED(6, "Failed");

    private final int code;
    private final String displayName;

    DiskState(int code, String displayName) {
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

    static DiskState fromCode(String field, int code) {
        for (DiskState d : values()) {
            if (d.code == code) {
                return d;
            }
        }
        throw new ProtocolException(field, "unknown disk state " + code + "; known are 0.." + (values().length - 1));
    }
}
