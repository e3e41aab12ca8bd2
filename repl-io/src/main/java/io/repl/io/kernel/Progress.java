package io.repl.io.kernel;

import io.repl.io.Errno;

/**
 * What one kernel completion (a CQE, an io_event) means for its request: done (0 or a final
 * -errno), or {@link #AGAIN}, another submission for the rest of a short transfer, a retry, or
 * the next way of zeroing.
 *
 * <p>-EAGAIN and -EINTR in a completion say the kernel lacked something for a moment, not that the
 * disk failed, so the request is submitted again. The retries are bounded: a request that
 * meets {@link #RETRIES_MAX} of them in a row, with no byte moved in between, completes with
 * -EAGAIN, which the {@link io.repl.io.BlockEngine} contract defines as "not done, the disk
 * has not failed". Never as -EIO.
 */
public final class Progress {
    /** The request needs another submission. */
    public static final int AGAIN = 1;
    /** Refusals in a row that a request survives; progress starts the count again. */
    public static final int RETRIES_MAX = 16;

    private Progress() {}

    public static int advance(Request r, int result) {
        if (result == -Errno.EAGAIN || result == -Errno.EINTR) {
            if (r.retries < RETRIES_MAX) {
                r.retries++;
                return AGAIN;
            }
            return -Errno.EAGAIN;
        }
        switch (r.kind) {
            case FLUSH:
                return Math.min(result, 0);
            case READ:
            case WRITE:
                return transferred(r, result, true);
            default:
                return zeroed(r, result);
        }
    }

    private static int transferred(Request r, int result, boolean advanceAddress) {
        if (result < 0) {
            return result;
        }
        if (result == 0) {
            // No progress at all: the file or device ends early. Never report that as success.
            return -Errno.EIO;
        }
        r.retries = 0;
        r.offset += result;
        r.remaining -= result;
        if (advanceAddress) {
            r.address += result;
        }
        return r.remaining == 0 ? 0 : AGAIN;
    }

    private static int zeroed(Request r, int result) {
        switch (r.zeroStep) {
            case PUNCH_HOLE:
                if (result == 0 || !unsupported(result)) {
                    return result;
                }
                r.zeroStep = Request.ZeroStep.ZERO_RANGE;
                return AGAIN;
            case ZERO_RANGE:
                if (result == 0 || !unsupported(result)) {
                    return result;
                }
                if (r.fastOnly) {
                    return -Errno.EOPNOTSUPP;
                }
                r.zeroStep = Request.ZeroStep.WRITE_ZEROES;
                return AGAIN;
            default:
                return transferred(r, result, false);
        }
    }

    /** Errors meaning "this file system or device cannot do that", not "the disk failed". */
    private static boolean unsupported(int result) {
        return result == -Errno.EOPNOTSUPP || result == -Errno.ENOSYS || result == -Errno.EINVAL;
    }
}
