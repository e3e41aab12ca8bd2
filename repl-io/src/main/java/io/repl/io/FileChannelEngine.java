package io.repl.io;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The portable engine: positional I/O on a {@link FileChannel} from a small pool of threads.
 *
 * <p>It opens the disk with O_DIRECT where the file system accepts it (tmpfs, for one, does
 * not), so that a completed write is in the device, not in the page cache, and flush is a
 * plain fdatasync. Zeroing uses fallocate through libc where that is bound, and plain writes
 * of zeroes where it is not.
 */
public final class FileChannelEngine implements BlockEngine {
    private static final System.Logger LOG = System.getLogger(FileChannelEngine.class.getName());
    private static final int QUEUE_DEPTH_MAX = OUTSTANDING_ACCEPTED_MIN;
    private static final int ZERO_CHUNK_BYTES = 1 << 20;

    private final Backing backing;
    private volatile long sizeBytes;
    private final boolean direct;
    private final int alignment;
    private final FileChannel channel;
    private final int nativeFd;
    private final AlignedBuffers buffers;
    private final ThreadPoolExecutor pool;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean closed;

    private FileChannelEngine(Backing backing, long sizeBytes, FileChannel channel, boolean direct,
                              int alignment, int nativeFd, int threads) {
        this.backing = backing;
        this.sizeBytes = sizeBytes;
        this.channel = channel;
        this.direct = direct;
        this.alignment = alignment;
        this.nativeFd = nativeFd;
        this.buffers = new AlignedBuffers(4096);
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(QUEUE_DEPTH_MAX), r -> {
                    Thread t = new Thread(r, "io-" + backing.path().getFileName() + "-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
    }

    /**
     * Opens {@code backing} for I/O on its first {@code sizeBytes} bytes.
     *
     * @param wantDirect try O_DIRECT first and fall back to buffered I/O if refused
     * @param threads number of I/O threads, 1..64
     * @throws IOException if the backing is smaller than {@code sizeBytes}, or cannot be opened
     */
    public static FileChannelEngine open(Backing backing, long sizeBytes, boolean wantDirect, int threads)
            throws IOException {
        if (threads < 1 || threads > 64) {
            throw new IllegalArgumentException("threads must be 1..64, got " + threads);
        }
        if (sizeBytes <= 0 || sizeBytes > backing.sizeBytes()) {
            throw new IOException(backing.path() + " holds " + backing.sizeBytes()
                    + " bytes, fewer than the " + sizeBytes + " bytes required");
        }
        FileChannel ch = null;
        boolean direct = false;
        int alignment = Math.max(512, backing.logicalSectorBytes());
        if (wantDirect) {
            try {
                int storeBlock = (int) Math.min(Integer.MAX_VALUE, Files.getFileStore(backing.path()).getBlockSize());
                int need = backing.blockDevice() ? alignment : Math.max(alignment, storeBlock);
                if (need <= 4096 && Integer.bitCount(need) == 1) {
                    ch = FileChannel.open(backing.path(), options(true));
                    direct = true;
                    alignment = need;
                }
            } catch (IOException | UnsupportedOperationException e) {
                LOG.log(System.Logger.Level.INFO, backing.path() + ": O_DIRECT refused (" + e.getMessage()
                        + "), using buffered I/O with fdatasync");
            }
        }
        if (ch == null) {
            ch = FileChannel.open(backing.path(), options(false));
        }
        if (sizeBytes % alignment != 0) {
            ch.close();
            throw new IOException("volume size " + sizeBytes + " is not a multiple of the "
                    + alignment + "-byte alignment of " + backing.path());
        }
        int fd = openNativeFd(backing);
        return new FileChannelEngine(backing, sizeBytes, ch, direct, alignment, fd, threads);
    }

    private static Set<OpenOption> options(boolean direct) {
        Set<OpenOption> o = new HashSet<>();
        o.add(StandardOpenOption.READ);
        o.add(StandardOpenOption.WRITE);
        if (direct) {
            o.add(ExtendedOpenOption.DIRECT);
        }
        return o;
    }

    private static int openNativeFd(Backing backing) {
        LibC c = LibC.get();
        if (c == null) {
            return -1;
        }
        int fd = c.open(backing.path().toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            LOG.log(System.Logger.Level.WARNING, backing.path() + ": no native descriptor ("
                    + c.strerror(LibC.lastErrno()) + "); zeroing falls back to writes");
        }
        return fd;
    }

    @Override
    public String name() {
        return "filechannel";
    }

    @Override
    public long size() {
        return sizeBytes;
    }

    @Override
    public void resize(long sizeBytes) {
        if (sizeBytes <= 0 || sizeBytes % alignment != 0) {
            throw new IllegalArgumentException("volume size " + sizeBytes + " must be a positive multiple of "
                    + alignment);
        }
        this.sizeBytes = sizeBytes;
    }

    @Override
    public int alignment() {
        return alignment;
    }

    @Override
    public boolean direct() {
        return direct;
    }

    @Override
    public AlignedBuffers buffers() {
        return buffers;
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCallback done) {
        if (!checkRange(offset, dst.remaining(), done) || !checkBuffer(dst, done)) {
            return;
        }
        submit(done, () -> {
            ByteBuffer b = dst.duplicate();
            long pos = offset;
            while (b.hasRemaining()) {
                int n = channel.read(b, pos);
                if (n < 0) {
                    // Past the end of a file that shrank under us: never report it as data.
                    return -Errno.EIO;
                }
                pos += n;
            }
            return 0;
        });
    }

    @Override
    public void write(long offset, ByteBuffer src, IoCallback done) {
        if (!checkRange(offset, src.remaining(), done) || !checkBuffer(src, done)) {
            return;
        }
        submit(done, () -> {
            ByteBuffer b = src.duplicate();
            long pos = offset;
            while (b.hasRemaining()) {
                pos += channel.write(b, pos);
            }
            return 0;
        });
    }

    @Override
    public void flush(IoCallback done) {
        submit(done, () -> {
            channel.force(false);
            return 0;
        });
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap, boolean fastOnly, IoCallback done) {
        if (!checkRange(offset, length, done)) {
            return;
        }
        if (length == 0) {
            // fallocate refuses an empty range; there is nothing to zero, so nothing can fail.
            done.complete(closed ? -Errno.ESHUTDOWN : 0);
            return;
        }
        submit(done, () -> zero(offset, length, mayUnmap, fastOnly));
    }

    private int zero(long offset, long length, boolean mayUnmap, boolean fastOnly) throws IOException {
        LibC c = LibC.get();
        if (c != null && nativeFd >= 0) {
            if (mayUnmap && c.fallocate(nativeFd, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE,
                    offset, length) == 0) {
                return 0;
            }
            if (c.fallocate(nativeFd, LibC.FALLOC_FL_ZERO_RANGE | LibC.FALLOC_FL_KEEP_SIZE, offset, length) == 0) {
                return 0;
            }
            int err = LibC.lastErrno();
            if (err != Errno.EOPNOTSUPP && err != Errno.ENOSYS && err != Errno.EINVAL) {
                return -err;
            }
        }
        if (fastOnly) {
            return -Errno.EOPNOTSUPP;
        }
        ByteBuffer zeroes = buffers.acquire((int) Math.min(ZERO_CHUNK_BYTES, length));
        try {
            while (zeroes.hasRemaining()) {
                zeroes.put((byte) 0);
            }
            long pos = offset;
            long end = offset + length;
            while (pos < end) {
                ByteBuffer b = zeroes.duplicate();
                b.clear().limit((int) Math.min(b.capacity(), Math.min(ZERO_CHUNK_BYTES, end - pos)));
                while (b.hasRemaining()) {
                    pos += channel.write(b, pos);
                }
            }
            return 0;
        } finally {
            buffers.release(zeroes);
        }
    }

    /** The contract takes only aligned direct buffers, whichever mode the channel is in. */
    private boolean checkBuffer(ByteBuffer b, IoCallback done) {
        if (!AlignedBuffers.isAligned(b, alignment)) {
            done.complete(-Errno.EINVAL);
            return false;
        }
        return true;
    }

    private boolean checkRange(long offset, long length, IoCallback done) {
        if (!BlockRange.valid(offset, length, alignment, sizeBytes)) {
            done.complete(-Errno.EINVAL);
            return false;
        }
        return true;
    }

    /** One unit of blocking work returning 0 or -errno. */
    private interface Work {
        int run() throws IOException;
    }

    private void submit(IoCallback done, Work work) {
        if (closed) {
            done.complete(-Errno.ESHUTDOWN);
            return;
        }
        inFlight.incrementAndGet();
        try {
            pool.execute(() -> {
                int result;
                try {
                    result = work.run();
                } catch (IOException e) {
                    result = -Errno.of(e);
                    LOG.log(System.Logger.Level.WARNING, backing.path() + ": I/O error: " + e.getMessage());
                } catch (RuntimeException e) {
                    result = -Errno.EIO;
                    LOG.log(System.Logger.Level.ERROR, backing.path() + ": unexpected failure in I/O", e);
                }
                inFlight.decrementAndGet();
                done.complete(result);
            });
        } catch (RejectedExecutionException e) {
            inFlight.decrementAndGet();
            done.complete(closed ? -Errno.ESHUTDOWN : -Errno.EAGAIN);
        }
    }

    /** Requests submitted and not yet completed. */
    public int inFlight() {
        return inFlight.get();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            // A second close must not close the native descriptor again: by now its number
            // may belong to another file.
            return;
        }
        closed = true;
        pool.shutdown();
        try {
            if (!pool.awaitTermination(30, TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, backing.path() + ": I/O still running after 30 s at close");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, backing.path() + ": close failed: " + e.getMessage());
        }
        LibC c = LibC.get();
        if (c != null && nativeFd >= 0) {
            c.close(nativeFd);
        }
    }

    @Override
    public String toString() {
        return "filechannel engine on " + backing + (direct ? ", O_DIRECT" : ", buffered");
    }
}
