import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.zip.CRC32C;

/**
 * What sending a payload to a peer costs the sender on this machine, without repl: the CPU a
 * thread spends per message written to a loopback TCP socket (the receiver, another thread,
 * reads everything and answers 16 bytes per message, as a peer's acknowledgements would), and
 * the CPU of a CRC32C over the same bytes (every frame's body checksum). On loopback the
 * receiver's TCP work runs inside the sender's system call, so the first figure is what a
 * Primary pays for its link beyond a standalone agent's work, before any of repl's own code.
 *
 * <p>Usage: {@code java bench/tools/LoopbackSend.java MESSAGE_BYTES MESSAGES_PER_BATCH MESSAGES}
 * (say 4096 16 200000, or 1048576 4 5000). Each batch is written, then its acknowledgements
 * read; the second of two rounds is reported.
 */
public class LoopbackSend {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: java LoopbackSend.java MESSAGE_BYTES MESSAGES_PER_BATCH MESSAGES");
            System.exit(2);
        }
        int size = Integer.parseInt(args[0]);
        int batch = Integer.parseInt(args[1]);
        int messages = Integer.parseInt(args[2]) / batch * batch;
        ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        Thread receiver = new Thread(() -> receive(server, size), "receiver");
        receiver.setDaemon(true);
        receiver.start();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        try (SocketChannel socket = SocketChannel.open(server.getLocalAddress())) {
            ByteBuffer out = ByteBuffer.allocateDirect(size * batch);
            ByteBuffer acks = ByteBuffer.allocateDirect(16 * batch);
            double sendMicros = 0;
            for (int round = 0; round < 2; round++) {
                long cpu0 = threads.getCurrentThreadCpuTime();
                for (int i = 0; i < messages / batch; i++) {
                    out.clear();
                    while (out.hasRemaining()) {
                        socket.write(out);
                    }
                    acks.clear();
                    while (acks.hasRemaining()) {
                        if (socket.read(acks) < 0) {
                            throw new IllegalStateException("receiver closed");
                        }
                    }
                }
                sendMicros = (threads.getCurrentThreadCpuTime() - cpu0) / 1000.0 / messages;
            }
            ByteBuffer payload = ByteBuffer.allocateDirect(size);
            CRC32C crc = new CRC32C();
            long sink = 0;
            double crcMicros = 0;
            int crcRounds = (int) Math.max(1, (256L << 20) / size);
            for (int round = 0; round < 3; round++) {
                long cpu0 = threads.getCurrentThreadCpuTime();
                for (int i = 0; i < crcRounds; i++) {
                    crc.reset();
                    crc.update(payload.duplicate());
                    sink += crc.getValue();
                }
                crcMicros = (threads.getCurrentThreadCpuTime() - cpu0) / 1000.0 / crcRounds;
            }
            System.out.printf("%d-byte messages, %d per batch: the sender's CPU %.2f us per message over loopback TCP;"
                    + " CRC32C %.2f us per message%s%n", size, batch, sendMicros, crcMicros, sink == 42 ? " " : "");
        }
    }

    private static void receive(ServerSocketChannel server, int size) {
        try (SocketChannel s = server.accept()) {
            ByteBuffer in = ByteBuffer.allocateDirect(1 << 20);
            ByteBuffer ack = ByteBuffer.allocateDirect(16 << 10);
            long received = 0;
            long acked = 0;
            while (true) {
                in.clear();
                if (s.read(in) < 0) {
                    return;
                }
                received += in.position();
                long complete = received / size;
                while (acked < complete) {
                    int n = (int) Math.min(complete - acked, ack.capacity() / 16);
                    ack.clear().limit(16 * n);
                    while (ack.hasRemaining()) {
                        s.write(ack);
                    }
                    acked += n;
                }
            }
        } catch (Exception e) {
            // The sender closed: done.
        }
    }
}
