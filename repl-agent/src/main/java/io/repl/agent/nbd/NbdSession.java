package io.repl.agent.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.repl.agent.volume.Volume;
import io.repl.io.Errno;
import io.repl.io.IoCallback;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;

/**
 * One client in the transmission phase. Requests run concurrently and are answered as they
 * complete, in any order. Every header field is checked before the volume sees the request;
 * a bad request gets an error reply and the connection stays usable.
 *
 * <p>All state is confined to the channel's event loop, which is also the loop of the
 * resource's engine and replication core; a completion from any other thread hops back onto
 * it before touching anything here.
 */
public final class NbdSession extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger(NbdSession.class.getName());
    private static final int BAD_REQUEST_LOGS_MAX = 16;

    private final Export export;
    /** The in-flight bounds this session shares with the export's other sessions. */
    private final ExportLoad load;
    private final Volume volume;
    private final boolean readOnly;
    private final String peer;
    private Channel channel;
    private int inFlightRequests;
    /**
     * Requests decoded while the export's load is at its bound: the socket read that brought
     * them was already under way. They start in order once there is room, so nothing passes the
     * bound; at most one socket read's worth waits here.
     */
    private final ArrayDeque<NbdRequest> deferred = new ArrayDeque<>();
    private boolean resumeQueued;
    private boolean disconnecting;
    private boolean closed;
    private int badRequestsLogged;
    private long requestsServed;
    /** Whether {@link #flushTask} is queued on the event loop and will send pending replies. */
    private boolean flushQueued;
    private final Runnable flushTask = this::flushReplies;
    private final NbdCounters counters;

    NbdSession(Export export, ExportLoad load, Export.Grant grant, String peer) {
        this.export = export;
        this.load = load;
        this.volume = grant.volume();
        this.readOnly = grant.readOnly();
        this.peer = peer;
        this.counters = export.counters();
    }

    /** Whether this client may write. */
    public boolean readOnly() {
        return readOnly;
    }

    /** Who the client is, for logs and status: its address or unix peer credentials. */
    public String peer() {
        return peer;
    }

    /** Drops the client; in-flight requests still complete on the disk. */
    public void close() {
        if (channel != null) {
            channel.close();
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        LOG.log(System.Logger.Level.INFO, "nbd " + export.name() + ": client " + peer + " opened the export "
                + (readOnly ? "read-only" : "read-write"));
        load.opened(this);
        export.sessionOpened(this);
        updateReading();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        closed = true;
        load.closed(this);
        while (!deferred.isEmpty()) {
            release(deferred.pollFirst().payload);
        }
        LOG.log(System.Logger.Level.INFO, "nbd " + export.name() + ": client " + peer + " gone after "
                + requestsServed + " requests");
        export.sessionClosed(this);
        super.channelInactive(ctx);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        updateReading();
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.log(System.Logger.Level.WARNING, "nbd " + export.name() + ": client " + peer + ": " + cause);
        ctx.close();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        NbdRequest r = (NbdRequest) msg;
        if (load.paused() || !deferred.isEmpty()) {
            deferred.addLast(r);
            return;
        }
        handle(r);
    }

    /** The export's load crossed a bound: stop or resume reading, and start what waited. */
    void loadChanged() {
        updateReading();
        if (!load.paused() && !deferred.isEmpty() && !resumeQueued && !closed) {
            // A task of its own: this runs inside another request's completion.
            resumeQueued = true;
            channel.eventLoop().execute(this::startDeferred);
        }
    }

    private void startDeferred() {
        resumeQueued = false;
        while (!closed && !load.paused() && !deferred.isEmpty()) {
            handle(deferred.pollFirst());
        }
    }

    private void handle(NbdRequest r) {
        if (disconnecting) {
            // The client promised nothing follows NBD_CMD_DISC; whatever does is ignored.
            release(r.payload);
            return;
        }
        switch (r.type) {
            case Nbd.CMD_READ:
                read(r);
                break;
            case Nbd.CMD_WRITE:
                write(r);
                break;
            case Nbd.CMD_FLUSH:
                if (checkFlags(r, 0)) {
                    start(r);
                    volume.flush(completion(r, null));
                }
                break;
            case Nbd.CMD_TRIM:
                zero(r, true);
                break;
            case Nbd.CMD_WRITE_ZEROES:
                zero(r, false);
                break;
            case Nbd.CMD_DISC:
                disconnecting = true;
                channel.config().setAutoRead(false);
                closeIfDrained();
                break;
            default:
                reject(r, Nbd.EINVAL, "unknown command type " + r.type);
        }
    }

    private void read(NbdRequest r) {
        if (!checkFlags(r, Nbd.CMD_FLAG_FUA) || !checkShape(r, Nbd.EINVAL)) {
            return;
        }
        if (r.length > Nbd.MAX_PAYLOAD_BYTES) {
            reject(r, Nbd.EINVAL, "read of " + r.length + " bytes exceeds the maximum of " + Nbd.MAX_PAYLOAD_BYTES);
            return;
        }
        ByteBuffer buf = volume.buffers().acquire((int) r.length);
        start(r);
        volume.read(r.offset, buf, completion(r, buf));
    }

    private void write(NbdRequest r) {
        if (readOnly) {
            reject(r, Nbd.EPERM, "write to a read-only export");
            return;
        }
        if (!checkFlags(r, Nbd.CMD_FLAG_FUA) || !checkShape(r, Nbd.ENOSPC)) {
            return;
        }
        start(r);
        volume.write(r.offset, r.payload, (r.flags & Nbd.CMD_FLAG_FUA) != 0, completion(r, r.payload));
    }

    private void zero(NbdRequest r, boolean trim) {
        if (readOnly) {
            reject(r, Nbd.EPERM, Nbd.commandName(r.type) + " on a read-only export");
            return;
        }
        int allowed = trim ? Nbd.CMD_FLAG_FUA : Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_NO_HOLE | Nbd.CMD_FLAG_FAST_ZERO;
        if (!checkFlags(r, allowed) || !checkShape(r, trim ? Nbd.EINVAL : Nbd.ENOSPC)) {
            return;
        }
        boolean mayUnmap = trim || (r.flags & Nbd.CMD_FLAG_NO_HOLE) == 0;
        boolean fastOnly = (r.flags & Nbd.CMD_FLAG_FAST_ZERO) != 0;
        start(r);
        volume.writeZeroes(r.offset, r.length, mayUnmap, fastOnly, (r.flags & Nbd.CMD_FLAG_FUA) != 0,
                completion(r, null));
    }

    private boolean checkFlags(NbdRequest r, int allowed) {
        if ((r.flags & ~allowed) != 0) {
            reject(r, Nbd.EINVAL, String.format("flags 0x%x not allowed on %s (allowed 0x%x)", r.flags,
                    Nbd.commandName(r.type), allowed));
            return false;
        }
        return true;
    }

    /**
     * Length, alignment and range. A range past the end is ENOSPC for writes and EINVAL for
     * reads and trims, as the protocol asks.
     */
    private boolean checkShape(NbdRequest r, int pastEndError) {
        long block = volume.blockSize();
        if (r.length == 0) {
            reject(r, Nbd.EINVAL, "zero length");
            return false;
        }
        if (r.offset % block != 0 || r.length % block != 0) {
            reject(r, Nbd.EINVAL, "not aligned to the " + block + "-byte minimum block size");
            return false;
        }
        if (r.offset < 0 || r.offset > volume.size() || r.length > volume.size() - r.offset) {
            reject(r, pastEndError, "range ends past the export size " + volume.size());
            return false;
        }
        return true;
    }

    private void reject(NbdRequest r, int error, String why) {
        if (badRequestsLogged < BAD_REQUEST_LOGS_MAX) {
            badRequestsLogged++;
            LOG.log(System.Logger.Level.INFO, "nbd " + export.name() + ": client " + peer + ": " + r
                    + " rejected (" + Errno.name(error) + "): " + why);
        }
        release(r.payload);
        sendReply(r.cookie, error, null);
        counters.answered(r.type, r.length, true, System.nanoTime() - r.decodedNanos);
        requestsServed++;
    }

    /**
     * What a request counts against the export's bytes in flight: a read's or a write's payload,
     * and a trim's or a zeroing's length, which the disks (and, replicated, the core's queue)
     * carry as they would a write of that size. A flush counts as a request only.
     */
    static long chargedBytes(NbdRequest r) {
        return r.type == Nbd.CMD_FLUSH ? 0 : r.length;
    }

    private void start(NbdRequest r) {
        inFlightRequests++;
        load.start(chargedBytes(r));
        updateReading();
    }

    private IoCallback completion(NbdRequest r, ByteBuffer buf) {
        long bytes = chargedBytes(r);
        return result -> {
            // The engine and the replication core run on this session's loop, so completions
            // normally arrive here already; others hop over.
            if (channel.eventLoop().inEventLoop()) {
                finish(r, bytes, result, buf);
            } else {
                channel.eventLoop().execute(() -> finish(r, bytes, result, buf));
            }
        };
    }

    private void finish(NbdRequest r, long bytes, int result, ByteBuffer buf) {
        inFlightRequests--;
        load.finish(bytes);
        requestsServed++;
        counters.answered(r.type, r.length, result != 0, System.nanoTime() - r.decodedNanos);
        if (result != 0 && result != -Errno.EOPNOTSUPP) {
            LOG.log(System.Logger.Level.WARNING, "nbd " + export.name() + ": " + r + " failed: " + Errno.name(result));
        }
        if (closed) {
            release(buf);
        } else if (r.type == Nbd.CMD_READ && result == 0) {
            buf.position(0).limit((int) r.length);
            sendReply(r.cookie, 0, buf);
        } else {
            release(buf);
            sendReply(r.cookie, Nbd.wireError(result), null);
        }
        updateReading();
        closeIfDrained();
    }

    /**
     * Queues a reply; {@link #flushReplies} sends it. Completions arrive in bursts (every CQE
     * the engine reaped at once, every ack of one peer frame burst), so a flush queued behind
     * them sends the whole burst in one socket write instead of one write per reply.
     */
    private void sendReply(long cookie, int error, ByteBuffer data) {
        ByteBuf h = channel.alloc().buffer(Nbd.REPLY_HEADER_BYTES);
        h.writeInt(Nbd.SIMPLE_REPLY_MAGIC).writeInt(error).writeLong(cookie);
        channel.write(h, channel.voidPromise());
        if (data != null) {
            // The engine's buffer goes out as is and returns to the pool once the socket has it
            // (or the write failed because the client is gone).
            channel.write(Unpooled.wrappedBuffer(data)).addListener(f -> release(data));
        }
        if (!flushQueued) {
            flushQueued = true;
            try {
                channel.eventLoop().execute(flushTask);
            } catch (RejectedExecutionException e) {
                // The loop is shutting down and runs no more tasks: send now, as before batching.
                flushReplies();
            }
        }
    }

    /** Sends every reply queued so far; runs once per burst on the event loop. */
    private void flushReplies() {
        flushQueued = false;
        channel.flush();
    }

    private void release(ByteBuffer b) {
        if (b != null) {
            volume.buffers().release(b);
        }
    }

    /**
     * Reads requests only while the export's load has room (see {@link ExportLoad}) and the
     * client takes its replies: otherwise the client waits in TCP, never for an error.
     */
    private void updateReading() {
        if (closed || disconnecting || channel == null) {
            return;
        }
        boolean read = !load.paused() && channel.isWritable();
        if (read != channel.config().isAutoRead()) {
            channel.config().setAutoRead(read);
        }
    }

    /** Whether the session reads requests from its socket now (tests). */
    public boolean reading() {
        return channel.config().isAutoRead();
    }

    /** Requests decoded and waiting for room in the export's load (tests). */
    int deferredRequests() {
        return deferred.size();
    }

    private void closeIfDrained() {
        if (disconnecting && inFlightRequests == 0 && !closed) {
            // Replies may still be queued for the next batched flush: close only after they are out.
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
