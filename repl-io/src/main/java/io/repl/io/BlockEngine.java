package io.repl.io;

import java.nio.ByteBuffer;

/**
 * Asynchronous block I/O on one backing disk or file.
 *
 * <p>The contract every engine keeps, checked by the engine contract test suite:
 * <ul>
 *   <li>Offsets and lengths are multiples of {@link #alignment()}, and buffers come from
 *       {@link #buffers()} (their addresses are aligned too). Anything else completes with
 *       {@code -EINVAL} without touching the disk. A range past {@link #size()} completes with
 *       {@code -EINVAL} as well: an engine never writes outside its volume.</li>
 *   <li>Requests may run concurrently and complete in any order. Two overlapping writes in
 *       flight at once land in an unspecified order; callers that care serialise them.</li>
 *   <li>{@link #flush} completes only when every write that completed before {@code flush}
 *       was called is on stable storage.</li>
 *   <li>A read or write either transfers the whole buffer or fails; a short transfer is
 *       retried internally and never reported as success.</li>
 *   <li>Every request's callback is called exactly once, also after {@link #close()} (with
 *       {@code -ESHUTDOWN}).</li>
 *   <li>The callback hands the buffer back: once it runs, neither the engine nor the kernel
 *       reads or writes that buffer again, whatever the result, also when the engine closes or
 *       fails with the request in flight. The caller may reuse or release it at once.</li>
 * </ul>
 *
 * <p>What a result means. 0: done. A negative errno says the request did not (wholly)
 * happen; for a write the range then holds unspecified data, old, new or a mix. The errors
 * fall in three kinds, and only the first is about the disk:
 * <ul>
 *   <li>The disk or file system failed or refused: {@code -EIO}, {@code -ENOSPC},
 *       {@code -EROFS}, {@code -EFBIG}, and any errno not listed below. An engine that can no
 *       longer do I/O at all (its ring failed) reports {@code -EIO} too, after logging why.</li>
 *   <li>The request was wrong or cannot be done this way: {@code -EINVAL} (see above),
 *       {@code -EOPNOTSUPP} (a {@code fastOnly} zeroing). Nothing was written.</li>
 *   <li>Not now: {@code -ESHUTDOWN} (the engine was closed) and {@code -EAGAIN}. Neither
 *       says anything about the disk. {@code -EAGAIN} is backpressure: the engine holds
 *       {@link #OUTSTANDING_ACCEPTED_MIN} requests already and refuses this one on the calling
 *       thread, before the method returns and without touching the disk; or, rarely, the
 *       kernel kept answering a request with EAGAIN through the engine's bounded retries.
 *       Retrying later is safe. A full device queue, io_uring submission queue or completion
 *       queue is none of these: requests wait inside the engine and complete normally.</li>
 * </ul>
 */
public interface BlockEngine extends AutoCloseable {

    /**
     * Outstanding requests (submitted, callback not yet called) every engine accepts: a
     * caller that never has more than this many outstanding is never refused with -EAGAIN.
     */
    int OUTSTANDING_ACCEPTED_MIN = 16384;

    /** A short name for logs and status: {@code "io_uring"}, {@code "filechannel"}. */
    String name();

    /** Usable bytes, a multiple of {@link #alignment()}. */
    long size();

    /**
     * Moves the end of the usable range to {@code sizeBytes}, a positive multiple of
     * {@link #alignment()} (an online resize; the caller has checked the backing device holds
     * it). A request checked against the old size before this call is not affected.
     */
    void resize(long sizeBytes);

    /** Required alignment of offsets, lengths and buffer addresses, a power of two. */
    int alignment();

    /** Whether writes bypass the page cache (O_DIRECT). */
    boolean direct();

    /** The pool that hands out buffers this engine accepts. */
    AlignedBuffers buffers();

    /** Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst}. */
    void read(long offset, ByteBuffer dst, IoCallback done);

    /** Writes {@code src.remaining()} bytes from {@code src} at {@code offset}. */
    void write(long offset, ByteBuffer src, IoCallback done);

    /**
     * Writes {@code src.remaining()} bytes from {@code src} at {@code offset} and completes only
     * once this write is on stable storage (NBD's FUA). Writes that completed earlier are not
     * covered; {@link #flush} is for those. The default writes, then flushes.
     */
    default void writeDurable(long offset, ByteBuffer src, IoCallback done) {
        write(offset, src, thenFlush(done));
    }

    /**
     * A callback for a write or zeroing that, on success, flushes and passes the flush's result
     * to {@code done}: FUA as write-then-flush, sound because the flush is issued after the
     * write completed. A failure goes to {@code done} as it is.
     */
    default IoCallback thenFlush(IoCallback done) {
        return result -> {
            if (result != 0) {
                done.complete(result);
            } else {
                flush(done);
            }
        };
    }

    /** Makes every write completed before this call durable (fdatasync). */
    void flush(IoCallback done);

    /**
     * Makes {@code length} bytes at {@code offset} read back as zeroes.
     *
     * @param mayUnmap the range may be deallocated (hole punched, blocks unmapped) as long as
     *     it reads back as zeroes; otherwise the blocks stay allocated.
     * @param fastOnly fail with {@code -EOPNOTSUPP} rather than write zeroes one block at a
     *     time when the file system or device cannot zero the range cheaply.
     */
    void writeZeroes(long offset, long length, boolean mayUnmap, boolean fastOnly, IoCallback done);

    /**
     * Stops accepting requests, waits for those in flight, and releases the disk. Requests
     * that arrive afterwards complete with {@code -ESHUTDOWN}. Requests in flight complete
     * with their own results, each only once the disk is done with its buffer.
     */
    @Override
    void close();
}
