package io.repl.core.replication;

import io.repl.core.metadata.Metadata;
import java.io.IOException;
import io.repl.protocol.DisconnectReason;
import io.repl.protocol.Message;
import java.util.SortedMap;

/**
 * What the core asks its driver to do. The driver implements it; the core calls it only from
 * inside one of its event methods. The driver must not call back into the core from inside an
 * action (an I/O that completes inline is reported as a new event afterwards): the core refuses
 * reentrant events loudly.
 */
public interface CoreActions {

    /** Submit a data-disk operation; report it with {@link ReplicationCore#onIoCompleted}. */
    void submitIo(DiskIo io);

    /** Send a message on the current peer connection, in order. */
    void send(Message message);

    /** Complete front-end request {@code requestId}: {@code errno} 0 is success. */
    void completeRequest(long requestId, int errno);

    /**
     * Close the peer connection (send DISCONNECT with the reason, then close). Deliver no further
     * messages from that connection, and confirm with {@link ReplicationCore#onPeerDisconnected}.
     */
    void closeConnection(DisconnectReason reason, String detail);

    /** Call {@link ReplicationCore#onTimer} at or after {@code deadlineNanos}; replaces the previous deadline. */
    void armTimer(long deadlineNanos);

    /**
     * Call {@link ReplicationCore#onSoon} once, after the events already queued for this core
     * (the rest of a burst of requests or peer messages read together), without waiting for
     * anything else. The core asks at most once before each call.
     */
    void runSoon();

    /** A state or the sync progress changed. */
    void stateChanged(CoreStatus status);

    /**
     * Run handler {@code name} out of band (never on the replication path); {@code name} is
     * always the {@link Hook#configName()} of one of the {@link Hook}s.
     */
    void runHook(String name, SortedMap<String, String> env);

    /** A line for the resource's log. */
    void log(String level, String message);

    /**
     * Send a message to the witness if it is connected (drop it otherwise: the core resends
     * what matters when {@link ReplicationCore#onWitnessConnected} says the link is back).
     * Only called when the resource has a witness.
     */
    void sendToWitness(Message message);

    /**
     * Run the fence-peer handler and report its exit code with
     * {@link ReplicationCore#onFenceResult}, naming {@code run}; the core holds writes meanwhile
     * (fencing resource-and-stonith). A result that names an older run is ignored.
     */
    void fencePeer(long run, SortedMap<String, String> env);

    /** A command that returned {@link CommandResult#pending()} has finished with {@code result}. */
    void commandCompleted(CommandResult result);

    /**
     * The node went Diskless and none of its disk operations is in flight any more: the driver
     * may close the data disk and the metadata device and release their locks. The core never
     * touches either again; {@code attach} brings a disk back.
     */
    void diskDetached();

    /**
     * The largest data size this node's disk offers now (its backing device may have grown
     * since it was attached), for an online resize; 0 when it cannot be resized online.
     * Synchronous, like metadata I/O.
     */
    default long diskCapacityBytes() {
        return 0;
    }

    /**
     * Why this node's disk cannot take {@code dataBytes} of data by {@link #resizeDisk} (for
     * example a shrink its metadata placement does not allow), or null when it can. Asked before
     * anything is written. Synchronous.
     */
    default String resizeRefusal(long dataBytes) {
        return "this node's disk cannot be resized online";
    }

    /**
     * An online resize: writes {@code current} for {@code dataBytes} of data to where the
     * metadata of that size belongs ({@link Metadata#resize}), with {@code dirty} (offset,
     * length pairs) marked out of sync, bounds this node's disk I/O and export to the new size,
     * and returns the new metadata. Synchronous, like metadata I/O; an exception leaves the old
     * metadata valid or the new one committed, as {@link Metadata#resize} says.
     */
    default Metadata resizeDisk(Metadata current, long dataBytes, long[] dirty) throws IOException {
        throw new IOException("this driver cannot resize a disk");
    }
}
