package io.repl.agent.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.repl.io.kernel.NativeMemory;
import io.repl.protocol.DataWrite;
import io.repl.protocol.Features;
import io.repl.protocol.FrameEncoder;
import io.repl.protocol.FrameHeader;
import io.repl.protocol.Message;
import io.repl.protocol.ProtocolException;
import io.repl.protocol.ProtocolVersion;
import io.repl.protocol.ResyncData;
import io.repl.protocol.WireSettings;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * Where the decoder receives the peer's blocks when it is given {@link PayloadBuffers}: every
 * buffer it takes is either lent on with the message that carries it or given back, whatever
 * becomes of the frame.
 */
class PeerFrameDecoderPayloadTest {
    private static final WireSettings LZ4 = WireSettings.session(ProtocolVersion.MAX, Features.LZ4);

    /** Records what the decoder does with the buffers it takes. */
    private static final class Recorder implements PayloadBuffers {
        final List<ByteBuffer> acquired = new ArrayList<>();
        final List<ByteBuffer> released = new ArrayList<>();
        final List<ByteBuffer> lent = new ArrayList<>();

        @Override
        public ByteBuffer acquire(int bytes) {
            ByteBuffer b = ByteBuffer.allocateDirect(bytes);
            acquired.add(b);
            return b;
        }

        @Override
        public void release(ByteBuffer buffer) {
            released.add(buffer);
        }

        @Override
        public void lend(ByteBuffer buffer) {
            lent.add(buffer);
        }
    }

    private final Recorder payloads = new Recorder();
    private final List<Throwable> errors = new ArrayList<>();

    private EmbeddedChannel channel() {
        PeerFrameDecoder decoder = new PeerFrameDecoder(new TrafficCounters(null), payloads);
        decoder.update(LZ4);
        return new EmbeddedChannel(decoder, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ctx.fireChannelRead(msg);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                errors.add(cause);
            }
        });
    }

    private static byte[] wire(Message m) {
        ByteBuffer frame = new FrameEncoder(LZ4).encode(m).toByteBuffer();
        return Arrays.copyOfRange(frame.array(), frame.position(), frame.limit());
    }

    private static ByteBuffer random(int bytes, int seed) {
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        return ByteBuffer.wrap(b);
    }

    @Test
    void aRawBlockIsLentOnWithTheMessageThatCarriesIt() {
        EmbeddedChannel ch = channel();
        DataWrite sent = DataWrite.of(1, 8192, random(8192, 1), 0);
        ResyncData resync = new ResyncData(0, random(4096, 2));
        byte[] a = wire(sent);
        byte[] b = wire(resync);
        // Both frames in pieces that end mid-block.
        ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(a, 0, 100)));
        ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(a, 100, a.length)),
                Unpooled.wrappedBuffer(b));
        DataWrite got = assertInstanceOf(DataWrite.class, ch.readInbound());
        ResyncData gotResync = assertInstanceOf(ResyncData.class, ch.readInbound());
        assertEquals(sent, got);
        assertEquals(resync, gotResync);
        assertEquals(payloads.acquired, payloads.lent, "each buffer lent, in order");
        assertTrue(payloads.released.isEmpty());
        assertEquals(NativeMemory.addressOf(payloads.lent.get(0)), NativeMemory.addressOf(got.data()));
        assertEquals(NativeMemory.addressOf(payloads.lent.get(1)), NativeMemory.addressOf(gotResync.data()));
    }

    private static ByteBuffer text() {
        return ByteBuffer.wrap("the same line again and again\n".repeat(300).substring(0, 8192).getBytes());
    }

    @Test
    void anLz4BlockIsDecompressedIntoASecondBufferWhichIsLentAndTheWireBufferGoesBack() {
        EmbeddedChannel ch = channel();
        DataWrite sent = DataWrite.of(1, 0, text(), 0);
        byte[] frame = wire(sent);
        assertTrue(frame.length < 8192, "the sample must compress, or it tests nothing");
        ch.writeInbound(Unpooled.wrappedBuffer(frame));
        DataWrite got = assertInstanceOf(DataWrite.class, ch.readInbound());
        assertEquals(sent, got);
        assertEquals(2, payloads.acquired.size(), "the wire bytes, then the block decompressed");
        assertEquals(List.of(payloads.acquired.get(0)), payloads.released);
        assertEquals(List.of(payloads.acquired.get(1)), payloads.lent);
        assertEquals(NativeMemory.addressOf(payloads.lent.get(0)), NativeMemory.addressOf(got.data()));
    }

    @Test
    void aMalformedLz4BlockGivesBothBuffersBack() {
        EmbeddedChannel ch = channel();
        byte[] frame = wire(DataWrite.of(1, 0, text(), 0));
        // Garble the compressed bytes, then make both checksums right again, so that only the
        // decompression can object.
        for (int i = FrameHeader.BYTES + DataWrite.FIELDS_BYTES; i < frame.length; i++) {
            frame[i] = (byte) 0xff;
        }
        ByteBuffer f = ByteBuffer.wrap(frame);
        CRC32C body = new CRC32C();
        body.update(f.duplicate().position(FrameHeader.BYTES));
        f.putInt(FrameHeader.BODY_CHECKSUM_OFFSET, (int) body.getValue());
        CRC32C header = new CRC32C();
        header.update(f.duplicate().position(0).limit(FrameHeader.HEADER_CHECKSUM_OFFSET));
        f.putInt(FrameHeader.HEADER_CHECKSUM_OFFSET, (int) header.getValue());
        ch.writeInbound(Unpooled.wrappedBuffer(frame));
        assertNull(ch.readInbound());
        ProtocolException e = assertInstanceOf(ProtocolException.class, errors.get(0));
        assertTrue(e.getMessage().contains("LZ4"), e.getMessage());
        assertEquals(2, payloads.acquired.size());
        assertEquals(payloads.acquired, payloads.released);
        assertTrue(payloads.lent.isEmpty());
    }

    @Test
    void aFrameThatFailsGivesItsBufferBack() {
        EmbeddedChannel ch = channel();
        byte[] frame = wire(DataWrite.of(1, 0, random(4096, 3), 0));
        frame[frame.length - 1] ^= 1;
        ch.writeInbound(Unpooled.wrappedBuffer(frame));
        assertNull(ch.readInbound());
        assertInstanceOf(ProtocolException.class, errors.get(0));
        assertTheOneBufferWentBack();
    }

    @Test
    void aFrameCutOffByTheCloseGivesItsBufferBack() {
        EmbeddedChannel ch = channel();
        byte[] frame = wire(DataWrite.of(1, 0, random(65536, 4), 0));
        ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(frame, 0, 1000)));
        assertEquals(1, payloads.acquired.size());
        assertTrue(payloads.released.isEmpty(), "the frame is still arriving");
        ch.close();
        assertTheOneBufferWentBack();
    }

    private void assertTheOneBufferWentBack() {
        assertEquals(1, payloads.acquired.size());
        assertEquals(payloads.acquired, payloads.released);
        assertTrue(payloads.lent.isEmpty());
    }
}
