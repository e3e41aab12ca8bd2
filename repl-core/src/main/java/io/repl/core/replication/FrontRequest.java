package io.repl.core.replication;

import java.nio.ByteBuffer;

/**
 * A request from the front end (NBD) to the Primary. Reads do not pass through the core: the
 * driver serves them from the local disk while the core reports the disk UpToDate.
 *
 * @param requestId chosen by the front end, echoed by {@link CoreActions#completeRequest}
 * @param kind WRITE, FLUSH, ZEROES or TRIM
 * @param offset byte offset, a multiple of 512 (0 for FLUSH)
 * @param length bytes, a multiple of 512 (0 for FLUSH)
 * @param fua the write must be durable on both nodes before it is acknowledged
 * @param data WRITE only: exactly {@code length} bytes, held by reference until completion
 */
public record FrontRequest(long requestId, Kind kind, long offset, int length, boolean fua, ByteBuffer data) {

    /** What the front end asks for. */
    public enum Kind { WRITE, FLUSH, ZEROES, TRIM }

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

    ByteRange range() {
        return new ByteRange(offset, length);
    }
}
