package io.repl.agent.peer;

import io.repl.protocol.FrameEncoder;
import io.repl.protocol.Message;
import io.repl.protocol.MessageDecoder;
import io.repl.protocol.handshake.Handshake;
import io.repl.protocol.handshake.HandshakeConfig;
import io.repl.protocol.handshake.HandshakeResult;
import io.repl.protocol.handshake.HandshakeStep;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * A peer made of a blocking socket and the protocol classes, scripted by the test: it can
 * send garbage, complete a handshake and then fall silent, or play the deciding node.
 */
final class RawPeer implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final MessageDecoder decoder = new MessageDecoder();
    private final FrameEncoder encoder = new FrameEncoder();
    private final byte[] chunk = new byte[64 * 1024];
    private ByteBuffer pending = ByteBuffer.allocate(0);

    private RawPeer(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        socket.setSoTimeout((int) Recorder.WAIT_SECONDS * 1000);
    }

    static RawPeer connect(InetSocketAddress to) throws IOException {
        Socket s = new Socket();
        s.connect(to, 5_000);
        return new RawPeer(s);
    }

    void sendRaw(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
    }

    void send(Message m) throws IOException {
        sendRaw(bytes(m));
    }

    /** The frame {@link #send} would write for {@code m}, to write several in one go. */
    byte[] bytes(Message m) {
        ByteBuffer frame = encoder.encode(m).toByteBuffer();
        return Arrays.copyOfRange(frame.array(), frame.position(), frame.limit());
    }

    /** The next message, or null when the link closed the connection. */
    Message receive() throws IOException {
        while (true) {
            if (pending.hasRemaining()) {
                Message m = decoder.decode(pending);
                if (m != null) {
                    return m;
                }
            }
            int n;
            try {
                n = in.read(chunk);
            } catch (SocketException e) {
                return null;
            }
            if (n < 0) {
                return null;
            }
            pending = ByteBuffer.wrap(Arrays.copyOf(chunk, n));
        }
    }

    /** Runs our side of the handshake; switches the codecs on success. */
    HandshakeResult handshake(HandshakeConfig config) throws IOException {
        Handshake h = new Handshake(config, new SecureRandom());
        send(h.start());
        while (true) {
            Message m = receive();
            if (m == null) {
                throw new IOException("link closed the connection during the handshake");
            }
            HandshakeStep step = h.receive(m);
            for (Message out : step.toSend()) {
                send(out);
            }
            if (step.failed()) {
                throw new IOException("handshake failed: " + step.failure());
            }
            if (step.succeeded()) {
                decoder.update(step.result().wireSettings());
                encoder.update(step.result().wireSettings());
                return step.result();
            }
        }
    }

    /** True once the link has closed the connection: EOF or reset, reading and dropping data. */
    boolean awaitClosed() throws IOException {
        try {
            while (true) {
                int n = in.read(chunk);
                if (n < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
