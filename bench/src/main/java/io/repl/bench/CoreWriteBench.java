package io.repl.bench;

import io.repl.core.replication.DiskIo;
import io.repl.core.replication.FrontRequest;
import io.repl.core.replication.ReplicationCore;
import io.repl.protocol.Barrier;
import io.repl.protocol.BarrierAck;
import io.repl.protocol.DataWrite;
import io.repl.protocol.WriteAck;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the sans-I/O core spends on one 4 KiB write, events in and actions out, with the driver
 * reduced to remembering the last action (see {@link CoreNode}); no disk, no socket, no codec.
 *
 * <ul>
 *   <li>{@code primary}: a Primary of an Established protocol C pair. The request (local WRITE
 *       and DATA out), the local completion, the peer's WRITE_ACK (the reply); every 256th
 *       write also closes its barrier epoch (BARRIER out, BARRIER_ACK in), which retires the
 *       epoch's writes and their activity-log references.
 *   <li>{@code secondary}: the other side. DATA in (local WRITE), its completion (WRITE_ACK
 *       out); every 256th write a BARRIER in, its flush, the BARRIER_ACK out.
 *   <li>{@code standalone}: a Primary without a peer: the request, which marks the bitmap, and
 *       the local completion (the reply).
 * </ul>
 *
 * <p>Every object the real path creates per write is created inside the measured method: the
 * front end's {@link FrontRequest} and the decoder's {@link WriteAck} or {@link DataWrite}, a
 * few dozen bytes of the B/op that are not the core's own (the payload buffer is the front
 * end's or the decoder's and is reused here). Offsets are 4 KiB aligned, drawn at random over
 * the first {@code spanGiB} of a 64 GiB volume: with 2 GiB every extent stays in the 1000-extent
 * activity log (all hits, the steady state of a bench run on a small file); with 64 GiB most
 * writes miss it and pay a transaction (encoded, then dropped by the metadata device).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
// The JIT needs several seconds on a busy 2-core machine before the core's numbers settle.
@Warmup(iterations = 10, time = 1)
@Measurement(iterations = 5, time = 1)
public class CoreWriteBench {
    private static final long VOLUME_BYTES = 64L << 30;
    private static final int WRITE_BYTES = 4096;
    private static final int OFFSETS = 1 << 16;

    /** Offsets and payload shared by every variant. */
    @State(Scope.Thread)
    public static class Input {
        @Param({"2", "64"})
        public int spanGiB;

        long[] offsets;
        int next;
        ByteBuffer payload;
        long nowNanos = 1;
        long requestId;

        @Setup(Level.Trial)
        public void draw() {
            long blocks = ((long) spanGiB << 30) / WRITE_BYTES;
            SplittableRandom random = new SplittableRandom(42);
            offsets = new long[OFFSETS];
            for (int i = 0; i < OFFSETS; i++) {
                offsets[i] = random.nextLong(blocks) * WRITE_BYTES;
            }
            payload = ByteBuffer.allocateDirect(WRITE_BYTES);
            for (int i = 0; i < WRITE_BYTES; i++) {
                payload.put(i, (byte) (i * 31));
            }
        }

        long nextOffset() {
            return offsets[next++ & (OFFSETS - 1)];
        }

        /** A clock that moves by 10 µs per write; the core's timer never fires here. */
        long tick() {
            nowNanos += 10_000;
            return nowNanos;
        }
    }

    @State(Scope.Thread)
    public static class Pair {
        CoreNode primary;
        CoreNode secondary;
        /** The Secondary's side: DATA sequence numbers, writes in the open epoch, the epoch. */
        long dataSeq;
        int epochWrites;
        long epoch = 1;

        @Setup(Level.Trial)
        public void connect() {
            CoreNode[] pair = CoreNode.establishedPair(VOLUME_BYTES);
            primary = pair[0];
            secondary = pair[1];
        }
    }

    @State(Scope.Thread)
    public static class Alone {
        CoreNode node;

        @Setup(Level.Trial)
        public void promote() {
            node = CoreNode.standalonePrimary(VOLUME_BYTES);
        }
    }

    @Benchmark
    public long primary(Pair pair, Input in) {
        CoreNode node = pair.primary;
        ReplicationCore core = node.core;
        long id = ++in.requestId;
        core.onRequest(FrontRequest.write(id, in.nextOffset(), in.payload, false), in.tick());
        DiskIo io = node.takeWrite(in.tick());
        DataWrite data = node.lastData;
        core.onIoCompleted(io.ioId(), 0, null, in.tick());
        core.onPeerMessage(new WriteAck(data.seq()), in.tick());
        Barrier barrier = node.lastBarrier;
        if (barrier != null) {
            node.lastBarrier = null;
            core.onPeerMessage(new BarrierAck(barrier.number(), barrier.writes()), in.tick());
        }
        node.expectCompleted(id);
        return data.seq();
    }

    @Benchmark
    public long secondary(Pair pair, Input in) {
        CoreNode node = pair.secondary;
        ReplicationCore core = node.core;
        long seq = ++pair.dataSeq;
        core.onPeerMessage(DataWrite.of(seq, in.nextOffset(), in.payload, 0), in.tick());
        core.onIoCompleted(node.takeWrite(in.tick()).ioId(), 0, null, in.tick());
        WriteAck ack = node.lastWriteAck;
        if (ack.seq() != seq) {
            throw new IllegalStateException("WRITE_ACK " + ack.seq() + " for DATA " + seq);
        }
        if (++pair.epochWrites == 256) {
            core.onPeerMessage(new Barrier(pair.epoch, pair.epochWrites), in.tick());
            core.onIoCompleted(node.lastIo.ioId(), 0, null, in.tick());
            if (node.lastBarrierAck == null || node.lastBarrierAck.number() != pair.epoch) {
                throw new IllegalStateException("no BARRIER_ACK for barrier " + pair.epoch);
            }
            pair.epoch++;
            pair.epochWrites = 0;
        }
        return ack.seq();
    }

    @Benchmark
    public long standalone(Alone alone, Input in) {
        CoreNode node = alone.node;
        ReplicationCore core = node.core;
        long id = ++in.requestId;
        core.onRequest(FrontRequest.write(id, in.nextOffset(), in.payload, false), in.tick());
        core.onIoCompleted(node.takeWrite(in.tick()).ioId(), 0, null, in.tick());
        node.expectCompleted(id);
        return id;
    }
}
