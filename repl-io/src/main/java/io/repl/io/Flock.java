package io.repl.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jnr.ffi.Platform;

/**
 * {@code struct flock} as 64-bit Linux lays it out, for {@link LibC#fcntl}: {@code short l_type}
 * at 0, {@code short l_whence} at 2, padding, {@code off_t l_start} at 8, {@code off_t l_len} at
 * 16, {@code pid_t l_pid} at 24, padding to 32 bytes. Native byte order throughout.
 */
public final class Flock {
    public static final int BYTES = 32;
    private static final int TYPE_OFFSET = 0;
    private static final int WHENCE_OFFSET = 2;
    private static final int START_OFFSET = 8;
    private static final int LENGTH_OFFSET = 16;
    private static final int PID_OFFSET = 24;

    private Flock() {}

    /**
     * Whether this layout and the constants in {@link LibC} (F_OFD_SETLK, O_EXCL) hold here:
     * Linux on x86_64 or aarch64. Elsewhere callers keep to what the JDK offers.
     */
    public static boolean layoutKnown() {
        Platform p = Platform.getNativePlatform();
        return p.getOS() == Platform.OS.LINUX
                && (p.getCPU() == Platform.CPU.X86_64 || p.getCPU() == Platform.CPU.AARCH64);
    }

    /** A request for a lock of {@code type} over the whole file, however long it grows. */
    public static byte[] wholeFile(short type) {
        byte[] f = new byte[BYTES];
        ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.nativeOrder());
        b.putShort(TYPE_OFFSET, type);
        b.putShort(WHENCE_OFFSET, LibC.SEEK_SET);
        b.putLong(START_OFFSET, 0);
        b.putLong(LENGTH_OFFSET, 0);
        b.putInt(PID_OFFSET, 0);
        return f;
    }

    /** l_type: after F_OFD_GETLK, {@link LibC#F_UNLCK} when nothing would conflict. */
    public static short type(byte[] f) {
        return ByteBuffer.wrap(f).order(ByteOrder.nativeOrder()).getShort(TYPE_OFFSET);
    }
}
