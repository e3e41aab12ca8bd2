package io.repl.io;

import java.util.Locale;

/** Which engine a resource asks for ({@code io-engine} in its config). */
public enum EngineKind {
    /** The fastest engine that passes its probe on this machine. */
    AUTO("auto"),
    IO_URING("io_uring"),
    /** Linux native AIO: io_setup, io_submit, io_getevents. */
    LIBAIO("libaio"),
    FILECHANNEL("filechannel");

    private final String configName;

    EngineKind(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }

    /** Parses a config value; null if it names no engine. */
    public static EngineKind parse(String s) {
        for (EngineKind k : values()) {
            if (k.configName.equals(s.toLowerCase(Locale.ROOT))) {
                return k;
            }
        }
        return null;
    }
}
