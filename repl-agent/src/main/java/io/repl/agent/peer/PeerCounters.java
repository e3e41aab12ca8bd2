package io.repl.agent.peer;

/**
 * Traffic of a session or of a whole link at one moment, for status and for the LZ4 benchmark
 * (compare {@code bytesOut} with {@code blockBytesOut}).
 *
 * @param bytesIn frame bytes received, headers included
 * @param bytesOut frame bytes queued for sending, headers included, after compression
 * @param messagesIn frames received
 * @param messagesOut frames queued for sending
 * @param blockBytesIn uncompressed block bytes of DATA, RS_DATA and CSUM_REPLY received
 * @param blockBytesOut uncompressed block bytes of DATA, RS_DATA and CSUM_REPLY sent
 * @param resyncBytesIn frame bytes of resync messages received (RS_REQUEST, RS_DATA, RS_NEG_ACK,
 *     CSUM_REQUEST, CSUM_REPLY), headers included, as on the wire
 * @param resyncBytesOut frame bytes of resync messages queued for sending, likewise
 */
public record PeerCounters(long bytesIn, long bytesOut, long messagesIn, long messagesOut, long blockBytesIn,
                           long blockBytesOut, long resyncBytesIn, long resyncBytesOut) {
}
