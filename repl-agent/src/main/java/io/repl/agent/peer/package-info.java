/**
 * The peer link: the TCP transport between the two nodes of a resource.
 *
 * <p>{@link io.repl.agent.peer.PeerLink} owns the sockets of one resource (a listener on this
 * node's address, dials to the peer's) and keeps at most one authenticated
 * {@link io.repl.agent.peer.PeerSession}. The pipeline of every connection is
 * {@code PeerFrameDecoder} (bytes to messages, one per call so the handshake can switch
 * settings between frames), {@code PeerFrameEncoder} (messages to a header buffer plus the
 * block wrapped, not copied), then {@code HandshakeHandler}, which gives way to
 * {@code SessionHandler} once the peer has proven the shared secret. The core's
 * {@code Liveness} (the same rule the simulator runs) decides when to PING and when the peer is
 * dead, with time passed in; {@code RejectionLog} keeps a port scanner from flooding the log.
 *
 * <p>Nothing here interprets replication messages: the resource's listener does.
 */
package io.repl.agent.peer;
