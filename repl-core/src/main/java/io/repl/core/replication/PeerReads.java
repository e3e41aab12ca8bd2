package io.repl.core.replication;

import io.repl.protocol.DiskState;
import io.repl.protocol.ReadNegativeAck;
import io.repl.protocol.ReadReply;
import io.repl.protocol.ReadRequest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads served by the other node. On the asking side: front-end reads of a node whose own disk
 * cannot serve them (Diskless, or a Primary whose attached disk is still being resynced), and
 * reads the local disk failed, which {@code on-io-error = detach} turns into reads from the
 * peer. On the answering side: READ_REQUESTs, served from this node's disk while it is
 * UpToDate.
 *
 * <p>A read asked of the peer after a write completed sees that write: the write completed
 * only with the peer's WRITE_ACK, sent once the peer's disk had it, and the READ_REQUEST
 * follows on the same connection.
 */
final class PeerReads {
    private final CoreContext ctx;
    /** Reads asked of the peer and not answered, by id. */
    private final Map<Long, FrontRequest> asked = new LinkedHashMap<>();
    private long nextId = 1;
    /** READ_REQUESTs of the peer being read from the local disk. */
    private int serving;

    PeerReads(CoreContext ctx) {
        this.ctx = ctx;
    }

    void onFrontRead(FrontRequest request) {
        ByteRange range = request.range();
        boolean valid = request.offset() % 512 == 0 && request.length() % 512 == 0 && request.length() > 0
                && request.length() <= ctx.config.requestBytesMax() && request.offset() >= 0
                && range.end() <= ctx.meta.dataBytes() && request.data() != null
                && request.data().remaining() == request.length();
        if (!valid) {
            ctx.actions.completeRequest(request.requestId(), Errno.EINVAL);
            return;
        }
        if (request.kind() == FrontRequest.Kind.READ_FAILED_LOCALLY) {
            String why = "local read " + range + " failed";
            if (!ctx.diskError(why)) {
                // on-io-error pass-on (or the disk failed): the client gets the error.
                ctx.log("error", why + "; passed on to the client");
                ctx.actions.completeRequest(request.requestId(), Errno.EIO);
                return;
            }
        } else if (ctx.state.disk == DiskState.UP_TO_DATE && !ctx.servesThroughPeer()) {
            // The driver sent it here as its view of the disk changed: the disk serves it now.
            readLocally(request);
            return;
        }
        if (!ctx.peerServes()) {
            ctx.actions.completeRequest(request.requestId(), Errno.EIO);
            return;
        }
        long id = nextId++;
        asked.put(id, request);
        ctx.send(new ReadRequest(id, request.offset(), request.length()));
    }

    private void readLocally(FrontRequest request) {
        ctx.io.submit(DiskIo.Kind.READ, request.range(), null, false, (errno, data) -> {
            if (errno == Errno.OK) {
                request.data().duplicate().put(data);
            }
            ctx.actions.completeRequest(request.requestId(), errno == Errno.OK ? Errno.OK : Errno.EIO);
        });
    }

    void onReply(ReadReply reply) {
        FrontRequest request = asked.get(reply.id());
        if (request == null || request.length() != reply.length()) {
            ctx.protocolError("READ_REPLY " + reply.id() + " (" + reply.length() + " bytes) answers no read in flight");
            return;
        }
        asked.remove(reply.id());
        request.data().duplicate().put(reply.data());
        ctx.actions.completeRequest(request.requestId(), Errno.OK);
    }

    void onNegativeAck(ReadNegativeAck ack) {
        FrontRequest request = asked.remove(ack.id());
        if (request == null) {
            ctx.protocolError("READ_NEG_ACK " + ack.id() + " answers no read in flight");
            return;
        }
        ctx.log("warn", "the peer could not serve read " + request.range() + " (errno " + ack.errno() + ")");
        ctx.actions.completeRequest(request.requestId(), Errno.EIO);
    }

    /** The peer asks for a range of our disk. */
    void onRequest(ReadRequest message) {
        ByteRange range = new ByteRange(message.offset(), message.length());
        if (range.end() > ctx.meta.dataBytes() || message.length() > ctx.config.requestBytesMax()) {
            ctx.protocolError("READ_REQUEST " + range + " is past the device or larger than "
                    + ctx.config.requestBytesMax() + " bytes");
            return;
        }
        if (serving >= ctx.config.writesInFlightMax() + ctx.config.queuedRequestsMax()) {
            ctx.protocolError("the peer has more than " + serving + " reads in flight");
            return;
        }
        if (ctx.state.disk != DiskState.UP_TO_DATE) {
            ctx.send(new ReadNegativeAck(message.id(), Errno.EIO));
            return;
        }
        serving++;
        long generation = ctx.state.connectionGeneration;
        ctx.io.submit(DiskIo.Kind.READ, range, null, false, (errno, data) -> {
            serving--;
            if (errno == Errno.OK && ctx.state.disk == DiskState.UP_TO_DATE) {
                ctx.sendOn(generation, new ReadReply(message.id(), data));
                return;
            }
            ctx.sendOn(generation, new ReadNegativeAck(message.id(), errno == Errno.OK ? Errno.EIO : errno));
            if (errno != Errno.OK) {
                ctx.diskError("read " + range + " for the peer failed with errno " + errno);
            }
        });
    }

    /** Reads asked of a peer that is gone get EIO; none is asked again elsewhere. */
    void onPeerLost() {
        List<FrontRequest> lost = new ArrayList<>(asked.values());
        asked.clear();
        for (FrontRequest request : lost) {
            ctx.actions.completeRequest(request.requestId(), Errno.EIO);
        }
    }

    boolean idle() {
        return asked.isEmpty() && serving == 0;
    }
}
