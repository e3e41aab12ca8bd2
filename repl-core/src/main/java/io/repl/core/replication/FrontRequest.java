package io.repl.core.replication;

import java.nio.ByteBuffer;

/**
 * A request from the front end (NBD) to the Primary. Reads pass through the core only when the
 * local disk cannot serve them: the driver serves them from the local disk while the core
 * reports it UpToDate, and otherwise (the node is Diskless, or its disk is being resynced)
 * sends them here as {@code READ}, which the core serves from the peer. A read the local disk
 * failed comes here as {@code READ_FAILED_LOCALLY}: the core applies {@code on-io-error}.
 *
 * @param requestId chosen by the front end, echoed by {@link CoreActions#completeRequest}
 * @param kind WRITE, FLUSH, ZEROES or TRIM
 * @param offset byte offset, a multiple of 512 (0 for FLUSH)
 * @param length bytes, a multiple of 512 (0 for FLUSH)
 * @param fua the write must be durable on both nodes before it is acknowledged
 * @param data WRITE: exactly {@code length} bytes, held by reference until completion; READ:
 *     the buffer to fill, {@code length} bytes from its position
 */
public record FrontRequest(long requestId, Kind kind, long offset, int length, boolean fua, ByteBuffer data) {

    /** What the front end asks for. */
    public enum Kind { WRITE, FLUSH, ZEROES, TRIM, READ, READ_FAILED_LOCALLY }

    public static FrontRequest write(long requestId, long offset, ByteBuffer data, boolean fua) {
        return new FrontRequest(requestId, Kind.WRITE, offset, data.remaining(), fua, data);
    }

    public static FrontRequest flush(long requestId) {
        return new FrontRequest(requestId, Kind.FLUSH, 0, 0, false, null);
    }

    public static FrontRequest zeroes(long requestId, long offset, int length, boolean fua) {
        return new FrontRequest(requestId, Kind.ZEROES, offset, length, fua, null);
    }

    public static FrontRequest trim(long requestId, long offset, int length) {
        return new FrontRequest(requestId, Kind.TRIM, offset, length, false, null);
    }

    /** A read into {@code dst} ({@code length} bytes from its position); see the kinds. */
    public static FrontRequest read(long requestId, long offset, ByteBuffer dst, boolean failedLocally) {
        return new FrontRequest(requestId, failedLocally ? Kind.READ_FAILED_LOCALLY : Kind.READ, offset,
                dst.remaining(), false, dst);
    }

    boolean isRead() {
        return kind == Kind.READ || kind == Kind.READ_FAILED_LOCALLY;
    }

    ByteRange range() {
        return new ByteRange(offset, length);
    }
}
