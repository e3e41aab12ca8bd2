package io.repl.agent.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.repl.protocol.DataWrite;
import io.repl.protocol.Features;
import io.repl.protocol.Hello;
import io.repl.protocol.Message;
import io.repl.protocol.ProtocolException;
import io.repl.protocol.ProtocolVersion;
import io.repl.protocol.WireSettings;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The Netty adapters of the protocol codecs, driven through an EmbeddedChannel. */
class PeerCodecTest {
    private final TrafficCounters counters = new TrafficCounters(null);

    private static Hello hello() {
        byte[] nonce = new byte[32];
        nonce[0] = 1;
        return new Hello(1, 1, Features.KNOWN, nonce, "alpha", "r0");
    }

    /** Everything the encoder wrote, as one array. */
    private static byte[] written(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            all.writeBytes(b);
            b.release();
        }
        byte[] a = new byte[all.readableBytes()];
        all.readBytes(a);
        return a;
    }

    @Test
    void decodesAFrameFedOneByteAtATime() {
        EmbeddedChannel out = new EmbeddedChannel(new PeerFrameEncoder(counters));
        out.writeOutbound(hello());
        byte[] frame = written(out);

        EmbeddedChannel in = new EmbeddedChannel(new PeerFrameDecoder(counters));
        for (int i = 0; i < frame.length - 1; i++) {
            in.writeInbound(Unpooled.wrappedBuffer(new byte[] {frame[i]}));
            assertNull(in.readInbound(), "no message before the last byte");
        }
        in.writeInbound(Unpooled.wrappedBuffer(new byte[] {frame[frame.length - 1]}));
        Hello h = assertInstanceOf(Hello.class, in.readInbound());
        assertEquals("alpha", h.nodeName());
        assertEquals(frame.length, counters.snapshot().bytesIn());
    }

    @Test
    void aBlockGoesOutAsItsOwnBufferUncopied() {
        PeerFrameEncoder encoder = new PeerFrameEncoder(counters);
        encoder.update(WireSettings.session(ProtocolVersion.MAX, 0));
        EmbeddedChannel ch = new EmbeddedChannel(encoder);
        ByteBuffer block = ByteBuffer.allocateDirect(64 * 1024);
        ch.writeOutbound(DataWrite.of(1, 0, block, 0));
        ByteBuf head = ch.readOutbound();
        ByteBuf body = ch.readOutbound();
        assertEquals(24 + DataWrite.FIELDS_BYTES, head.readableBytes());
        assertTrue(body.isDirect(), "the direct block is wrapped, not copied to the heap");
        assertEquals(64 * 1024, body.readableBytes());
        assertEquals(64 * 1024, counters.snapshot().blockBytesOut());
        head.release();
        body.release();
    }

    @Test
    void twoFramesInOneReadAreTwoMessagesInOrder() {
        PeerFrameEncoder encoder = new PeerFrameEncoder(counters);
        encoder.update(WireSettings.session(ProtocolVersion.MAX, 0));
        EmbeddedChannel out = new EmbeddedChannel(encoder);
        byte[] data = new byte[512];
        data[7] = 7;
        out.writeOutbound(DataWrite.of(1, 0, ByteBuffer.wrap(data), 0), DataWrite.of(2, 512, ByteBuffer.wrap(data), 0));
        byte[] frames = written(out);

        PeerFrameDecoder decoder = new PeerFrameDecoder(counters);
        decoder.update(WireSettings.session(ProtocolVersion.MAX, 0));
        EmbeddedChannel in = new EmbeddedChannel(decoder);
        in.writeInbound(Unpooled.wrappedBuffer(frames));
        Message first = in.readInbound();
        Message second = in.readInbound();
        assertEquals(1, assertInstanceOf(DataWrite.class, first).seq());
        assertEquals(2, assertInstanceOf(DataWrite.class, second).seq());
        byte[] got = new byte[512];
        ((DataWrite) second).data().get(got);
        assertArrayEquals(data, got);
    }

    @Test
    void garbageIsAProtocolErrorAndLaterBytesAreDropped() {
        EmbeddedChannel in = new EmbeddedChannel(new PeerFrameDecoder(counters));
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> in.writeInbound(Unpooled.wrappedBuffer("SSH-2.0-OpenSSH\r\n".getBytes())));
        assertEquals("header.magic", e.field());
        // Whatever follows is not believed, and not an error again.
        in.writeInbound(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));
        assertNull(in.readInbound());
    }
}
