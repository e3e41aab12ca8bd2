package io.repl.agent.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.repl.agent.volume.MemoryVolume;
import io.repl.agent.volume.SubBlockVolume;
import io.repl.agent.volume.Volume;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The handshake and request decoders as byte-level state machines: a whole client session
 * fed one byte at a time, and in random splits, must produce exactly the bytes it produces
 * when fed in one piece.
 */
class NbdStreamTest {
    private static final int SIZE = 1 << 20;

    /** A client session: greeting reply, a GO, writes (one unaligned), reads, a flush, DISC. */
    private static byte[] session() {
        ByteBuffer b = ByteBuffer.allocate(64 << 10);
        b.putInt(3); // fixed newstyle + no zeroes
        byte[] name = "r0".getBytes(StandardCharsets.UTF_8);
        b.putLong(Nbd.IHAVEOPT).putInt(4242).putInt(3).put(new byte[] {1, 2, 3}); // unknown option
        b.putLong(Nbd.IHAVEOPT).putInt(Nbd.OPT_GO).putInt(4 + name.length + 2).putInt(name.length).put(name)
                .putShort((short) 0);
        Random rnd = new Random(3);
        long cookie = 1;
        for (int i = 0; i < 6; i++) {
            int len = i == 3 ? 1000 : 4096;
            long off = i == 3 ? 12345 : i * 8192L;
            byte[] data = new byte[len];
            rnd.nextBytes(data);
            b.putInt(Nbd.REQUEST_MAGIC).putShort((short) 0).putShort((short) Nbd.CMD_WRITE).putLong(cookie++)
                    .putLong(off).putInt(len).put(data);
        }
        b.putInt(Nbd.REQUEST_MAGIC).putShort((short) 0).putShort((short) Nbd.CMD_FLUSH).putLong(cookie++)
                .putLong(0).putInt(0);
        b.putInt(Nbd.REQUEST_MAGIC).putShort((short) 0).putShort((short) Nbd.CMD_READ).putLong(cookie++)
                .putLong(12000).putInt(2000);
        b.putInt(Nbd.REQUEST_MAGIC).putShort((short) 0).putShort((short) Nbd.CMD_READ).putLong(cookie++)
                .putLong(SIZE).putInt(512); // past the end: EINVAL
        b.putInt(Nbd.REQUEST_MAGIC).putShort((short) 0).putShort((short) Nbd.CMD_DISC).putLong(cookie)
                .putLong(0).putInt(0);
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    private static final class OneVolume implements Export {
        final Volume v = new SubBlockVolume(new MemoryVolume(SIZE, 4096, true));

        @Override
        public String name() {
            return "r0";
        }

        @Override
        public Grant open() {
            return Grant.readWrite(v);
        }

        @Override
        public void sessionOpened(NbdSession session) {}

        @Override
        public void sessionClosed(NbdSession session) {}
    }

    /** Feeds {@code in} split at the given chunk sizes and returns what the server wrote. */
    private static byte[] run(byte[] in, Random splits) {
        EmbeddedChannel ch = new EmbeddedChannel(new NbdHandshake(new OneVolume(), "test"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int pos = 0;
        while (pos < in.length) {
            int n = splits == null ? in.length : Math.min(in.length - pos, 1 + splits.nextInt(splits.nextBoolean() ? 3 : 700));
            ch.writeInbound(Unpooled.wrappedBuffer(in, pos, n));
            ch.runPendingTasks();
            drain(ch, out);
            pos += n;
        }
        ch.runPendingTasks();
        drain(ch, out);
        assertFalse(ch.isOpen(), "DISC closes the connection once every request is answered");
        return out.toByteArray();
    }

    private static void drain(EmbeddedChannel ch, ByteArrayOutputStream out) {
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            out.writeBytes(bytes);
            b.release();
        }
    }

    /** The replies by cookie, as "error:data-hash": replies may come in any order. */
    private static java.util.Map<Long, String> replies(byte[] out) {
        ByteBuffer b = ByteBuffer.wrap(out);
        b.position(18);
        int optionReplies = 0;
        while (optionReplies < 4) {
            assertEquals(Nbd.OPTION_REPLY_MAGIC, b.getLong());
            b.getInt();
            b.getInt();
            int length = b.getInt();
            b.position(b.position() + length);
            optionReplies++;
        }
        java.util.Map<Long, String> m = new java.util.TreeMap<>();
        while (b.hasRemaining()) {
            assertEquals(Nbd.SIMPLE_REPLY_MAGIC, b.getInt());
            int error = b.getInt();
            long cookie = b.getLong();
            int dataLength = cookie == READ_COOKIE && error == 0 ? 2000 : 0;
            byte[] data = new byte[dataLength];
            b.get(data);
            m.put(cookie, error + ":" + java.util.Arrays.hashCode(data));
        }
        return m;
    }

    private static final long READ_COOKIE = 8;

    @Test
    void oneByteAtATimeAndRandomSplitsGiveTheSameAnswersAsOnePiece() {
        byte[] in = session();
        byte[] whole = run(in, null);
        String unsup = "option 4242 is not supported";
        // Greeting, ERR_UNSUP with its message, two INFO replies and the ACK of GO, six write
        // replies, the flush, a read with its data, and the EINVAL.
        assertEquals(18 + (20 + unsup.length()) + (20 + 12) + (20 + 14) + 20 + 6 * 16 + 16 + (16 + 2000) + 16,
                whole.length);
        java.util.Map<Long, String> want = replies(whole);
        assertEquals(9, want.size());
        for (long c = 1; c <= 7; c++) {
            assertEquals(true, want.get(c).startsWith("0:"), "request " + c + " succeeds");
        }
        assertEquals(true, want.get(READ_COOKIE).startsWith("0:"));
        assertEquals(Nbd.EINVAL + ":" + java.util.Arrays.hashCode(new byte[0]), want.get(9L));
        assertEquals(want, replies(oneByteAtATime(in)), "one byte at a time");
        Random r = new Random(1);
        for (int i = 0; i < 50; i++) {
            assertEquals(want, replies(run(in, r)), "split round " + i);
        }
    }

    private static byte[] oneByteAtATime(byte[] in) {
        EmbeddedChannel ch = new EmbeddedChannel(new NbdHandshake(new OneVolume(), "test"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < in.length; i++) {
            ch.writeInbound(Unpooled.wrappedBuffer(in, i, 1));
            ch.runPendingTasks();
            drain(ch, out);
        }
        ch.runPendingTasks();
        drain(ch, out);
        return out.toByteArray();
    }
}
