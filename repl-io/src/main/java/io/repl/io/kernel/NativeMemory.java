package io.repl.io.kernel;

import com.kenai.jffi.MemoryIO;
import io.repl.io.uring.Syscalls;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jnr.ffi.Pointer;

/**
 * Moves between native addresses and direct buffers: the kernel wants addresses in its SQEs,
 * Java wants buffers to read and write the mapped rings.
 */
public final class NativeMemory {
    private NativeMemory() {}

    /**
     * The native address of {@code b}'s current position. The buffer must be direct; the
     * caller keeps it reachable for as long as the kernel may use the address.
     */
    public static long addressOf(ByteBuffer b) {
        if (!b.isDirect()) {
            throw new IllegalArgumentException("a heap buffer has no stable native address");
        }
        long base = Pointer.wrap(Syscalls.runtime(), b).address();
        if (base == 0) {
            throw new IllegalStateException("JNR gave no address for a direct buffer");
        }
        return base + b.position();
    }

    /** A native-order buffer over {@code length} bytes at {@code address}, such as an mmap'd ring. */
    public static ByteBuffer view(long address, long length) {
        if (length <= 0 || length > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("cannot view " + length + " bytes as one buffer");
        }
        return MemoryIO.getInstance().newDirectByteBuffer(address, (int) length).order(ByteOrder.nativeOrder());
    }
}
