package io.repl.io.uring;

import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.SaveError;

/**
 * The libc entry points the io_uring engine needs and {@link io.repl.io.LibC} does not have.
 *
 * <p>Every argument of {@code syscall} is declared {@code long}: glibc's {@code syscall} is
 * variadic and reads each argument as a full machine word, so an {@code int} passed in a
 * 64-bit register would leave its upper half undefined. {@code mmap} takes its real C
 * types, and returns its address as a {@code long}.
 */
public interface Syscalls {
    long SYS_IO_URING_SETUP = 425;
    long SYS_IO_URING_ENTER = 426;
    long SYS_IO_URING_REGISTER = 427;

    int PROT_READ = 0x1;
    int PROT_WRITE = 0x2;
    int MAP_SHARED = 0x01;
    int MAP_POPULATE = 0x8000;
    long MAP_FAILED = -1L;

    int EFD_CLOEXEC = 0x80000;
    int EFD_NONBLOCK = 0x800;
    short POLLIN = 0x1;

    /** open(2) flag for direct I/O, which differs between architectures. */
    int O_DIRECT = "aarch64".equals(System.getProperty("os.arch")) ? 0x10000 : 0x4000;

    @SaveError
    long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    /**
     * The address parameter is a {@link jnr.ffi.Pointer} (always null here) on purpose: with
     * six primitive parameters JNR 2.3.4 on x86_64 passes a garbage sixth argument, so glibc
     * saw a misaligned offset and failed with EINVAL before making the syscall (seen under
     * strace). A Pointer parameter takes JNR's other invoker, which passes all six.
     */
    @SaveError
    long mmap(jnr.ffi.Pointer address, long length, int prot, int flags, int fd, long offset);

    @SaveError
    int munmap(long address, long length);

    @SaveError
    int eventfd(int initialValue, int flags);

    @SaveError
    int eventfd_write(int fd, long value);

    /** Reads {@code count} bytes into native memory at {@code address}; used to drain an eventfd. */
    @SaveError
    long read(int fd, long address, long count);

    /** poll(2) on {@code nfds} {@code struct pollfd} (8 bytes each) at {@code address}. */
    @SaveError
    int poll(long address, long nfds, int timeoutMs);

    @SaveError
    int close(int fd);

    /** The binding, or null where libc cannot be bound (the caller then falls back). */
    static Syscalls get() {
        return Holder.SYSCALLS;
    }

    /** errno of the calling thread's last failed call through this binding. */
    static int lastErrno() {
        return jnr.ffi.Runtime.getRuntime(Holder.SYSCALLS).getLastError();
    }

    /** The JNR runtime the binding lives in, for wrapping addresses and buffers. */
    static jnr.ffi.Runtime runtime() {
        return jnr.ffi.Runtime.getRuntime(Holder.SYSCALLS);
    }

    /** Lazy, failure-tolerant loading, as for LibC. */
    final class Holder {
        static final Syscalls SYSCALLS = load();

        private Holder() {}

        private static Syscalls load() {
            try {
                return LibraryLoader.create(Syscalls.class).failImmediately().load("c");
            } catch (Throwable t) {
                System.getLogger(Syscalls.class.getName())
                        .log(System.Logger.Level.INFO, "libc syscall binding unavailable: " + t);
                return null;
            }
        }
    }
}
