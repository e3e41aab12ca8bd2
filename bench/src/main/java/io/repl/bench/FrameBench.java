package io.repl.bench;

import io.repl.protocol.DataWrite;
import io.repl.protocol.FrameEncoder;
import io.repl.protocol.Message;
import io.repl.protocol.MessageDecoder;
import io.repl.protocol.OutboundFrame;
import io.repl.protocol.ProtocolVersion;
import io.repl.protocol.WireSettings;
import io.repl.protocol.WriteAck;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The peer protocol's codecs on the two frames of every replicated write: DATA with a 4 KiB
 * block (no LZ4, the default) and WRITE_ACK. The protocol works on NIO buffers; the agent's
 * Netty handlers only wrap them ({@code PeerFrameEncoder}: {@code Unpooled.wrappedBuffer} of
 * the two parts; {@code PeerFrameDecoder}: an {@code nioBuffer} view of the cumulation buffer),
 * which is not measured here.
 *
 * <ul>
 *   <li>{@code encode*}: {@link FrameEncoder#encode} of a message the core made (made once
 *       here: its cost is the core's): the fields, the CRC32C of the body, the header; the
 *       block goes by reference.
 *   <li>{@code decode*}: {@link MessageDecoder#decode} of one whole frame from a direct buffer,
 *       as received bytes sit in the transport's buffer: header checks, the body copied into
 *       its own buffer, its CRC32C, the message with every field checked.
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx512m"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class FrameBench {
    private static final WireSettings SESSION = WireSettings.session(ProtocolVersion.MAX, 0);

    private final FrameEncoder encoder = new FrameEncoder(SESSION);
    private final MessageDecoder decoder = new MessageDecoder(SESSION);
    private DataWrite data;
    private WriteAck ack;
    private ByteBuffer dataFrame;
    private ByteBuffer ackFrame;

    @Setup(Level.Trial)
    public void encodeOnce() {
        ByteBuffer block = ByteBuffer.allocateDirect(4096);
        for (int i = 0; i < block.capacity(); i++) {
            block.put(i, (byte) (i * 31));
        }
        data = DataWrite.of(123_456, 40L << 30, block, 0);
        ack = new WriteAck(123_456);
        dataFrame = wire(encoder.encode(data));
        ackFrame = wire(encoder.encode(ack));
        if (!data.equals(decodeData4k()) || !ack.equals(decodeWriteAck())) {
            throw new IllegalStateException("a frame did not decode to the message encoded");
        }
    }

    /** The frame as it arrives: one direct buffer. */
    private static ByteBuffer wire(OutboundFrame frame) {
        ByteBuffer onWire = ByteBuffer.allocateDirect(frame.bytes());
        onWire.put(frame.head()).put(frame.block()).flip();
        return onWire;
    }

    @Benchmark
    public OutboundFrame encodeData4k() {
        return encoder.encode(data);
    }

    @Benchmark
    public OutboundFrame encodeWriteAck() {
        return encoder.encode(ack);
    }

    @Benchmark
    public Message decodeData4k() {
        dataFrame.position(0);
        return decoder.decode(dataFrame);
    }

    @Benchmark
    public Message decodeWriteAck() {
        ackFrame.position(0);
        return decoder.decode(ackFrame);
    }
}
