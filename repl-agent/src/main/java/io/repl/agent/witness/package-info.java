/**
 * The witness (docs/FAILOVER.md, section 5) as a process, and a node's connection to it.
 *
 * <p>Node side: {@link io.repl.agent.witness.WitnessLink} dials the witness of one resource,
 * authenticates with the resource's shared secret, keeps one session alive with PING and
 * delivers the witness's verdicts to its listener.
 *
 * <p>Witness side: {@link io.repl.agent.witness.WitnessDaemon} ({@code repl-agent --witness})
 * runs a {@link io.repl.agent.witness.WitnessServer}, which listens on every
 * {@code [witness] address} of the config directory; each accepted {@code NodeConnection}
 * answers the node's HELLO (the handshake learns the resource and node from it), and after
 * authentication its reports and requests go to the {@code DecisionQueue}: one thread, one
 * {@link io.repl.core.witness.WitnessCore} for all resources, one decision at a time. Records
 * are kept by {@link io.repl.agent.witness.FileWitnessStore}, durable before any answer.
 *
 * <p>Both sides use the peer link's frames, limits and rules: {@code PeerFrameDecoder} and
 * {@code PeerFrameEncoder} of {@code io.repl.agent.peer}, the core's {@code Liveness}, and the
 * peer link's {@code RejectionLog}.
 */
package io.repl.agent.witness;
