package io.repl.agent.it;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/**
 * A deliberately raw NBD client for tests: it can speak the protocol correctly, and it can
 * break it in exactly the way a test wants. Every read has a deadline so a server that
 * hangs fails the test instead of hanging it.
 */
final class NbdTestClient implements AutoCloseable {
    static final long NBDMAGIC = 0x4e42444d41474943L;
    static final long IHAVEOPT = 0x49484156454F5054L;
    static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    static final int REQUEST_MAGIC = 0x25609513;
    static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    static final int OPT_GO = 7;
    static final int REP_ACK = 1;
    static final int REP_INFO = 3;
    static final int CMD_READ = 0;
    static final int CMD_WRITE = 1;
    static final int CMD_DISC = 2;
    static final int CMD_FLUSH = 3;
    static final int CMD_TRIM = 4;
    static final int CMD_WRITE_ZEROES = 6;
    static final int FLAG_FUA = 1;
    static final int FLAG_NO_HOLE = 2;
    static final int FLAG_FAST_ZERO = 16;
    static final int EPERM = 1;
    static final int EINVAL = 22;
    static final int ENOSPC = 28;

    private static final long TIMEOUT_MS = 30_000;
    /** A deadline for the overloads that take one: wait as long as it takes. */
    static final long NO_TIMEOUT = Long.MAX_VALUE;

    private final SocketChannel ch;
    private final Selector selector;
    long exportSize;
    int transmissionFlags;
    int minBlock;
    int preferredBlock;
    int maxBlock;
    private long nextCookie = 1;
    /** Set once a send found the socket full: the server had stopped reading from us. */
    volatile boolean sawBackpressure;

    private NbdTestClient(SocketChannel ch) throws IOException {
        this.ch = ch;
        ch.configureBlocking(false);
        this.selector = Selector.open();
        ch.register(selector, SelectionKey.OP_READ);
    }

    static NbdTestClient connect(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return new NbdTestClient(ch);
    }

    /** Connects and negotiates {@code export} with NBD_OPT_GO. */
    static NbdTestClient open(Path socket, String export) throws IOException {
        NbdTestClient c = connect(socket);
        c.greet();
        OptionReply r = c.go(export);
        if (r.type != REP_ACK) {
            throw new IOException("GO refused: type 0x" + Integer.toHexString(r.type) + " " + r.text());
        }
        return c;
    }

    /** Reads the server's greeting and answers with fixed-newstyle and no-zeroes. */
    void greet() throws IOException {
        ByteBuffer hello = readFully(18);
        if (hello.getLong() != NBDMAGIC || hello.getLong() != IHAVEOPT) {
            throw new IOException("not an NBD newstyle server");
        }
        hello.getShort();
        send(ByteBuffer.allocate(4).putInt(3).flip());
    }

    /** One option reply. */
    record OptionReply(int option, int type, byte[] data) {
        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    void sendOption(int option, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16 + data.length);
        b.putLong(IHAVEOPT).putInt(option).putInt(data.length).put(data).flip();
        send(b);
    }

    OptionReply readOptionReply() throws IOException {
        ByteBuffer h = readFully(20);
        if (h.getLong() != OPTION_REPLY_MAGIC) {
            throw new IOException("bad option reply magic");
        }
        int option = h.getInt();
        int type = h.getInt();
        int length = h.getInt();
        byte[] data = new byte[length];
        readFully(length).get(data);
        return new OptionReply(option, type, data);
    }

    /** NBD_OPT_GO asking for block sizes; returns the final reply (ACK or an error). */
    OptionReply go(String export) throws IOException {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer d = ByteBuffer.allocate(4 + name.length + 2 + 2);
        d.putInt(name.length).put(name).putShort((short) 1).putShort((short) 3);
        sendOption(OPT_GO, d.array());
        while (true) {
            OptionReply r = readOptionReply();
            if (r.type != REP_INFO) {
                return r;
            }
            ByteBuffer info = ByteBuffer.wrap(r.data);
            int kind = info.getShort() & 0xffff;
            if (kind == 0) {
                exportSize = info.getLong();
                transmissionFlags = info.getShort() & 0xffff;
            } else if (kind == 3) {
                minBlock = info.getInt();
                preferredBlock = info.getInt();
                maxBlock = info.getInt();
            }
        }
    }

    long request(int flags, int type, long offset, long length, byte[] payload) throws IOException {
        long cookie = nextCookie++;
        request(cookie, flags, type, offset, length, payload, TIMEOUT_MS);
        return cookie;
    }

    /**
     * A request with the caller's own cookie, so a pipelining caller can record what it sends
     * under that cookie before the reply can possibly arrive; {@code sendTimeoutMs} bounds how
     * long the server may stop reading from us ({@link #NO_TIMEOUT}: forever). The caller keeps
     * its cookies unique; do not mix with {@link #request(int, int, long, long, byte[])} on one
     * connection unless the ranges cannot collide.
     */
    void request(long cookie, int flags, int type, long offset, long length, byte[] payload, long sendTimeoutMs)
            throws IOException {
        ByteBuffer b = ByteBuffer.allocate(28 + (payload == null ? 0 : payload.length));
        b.putInt(REQUEST_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie).putLong(offset)
                .putInt((int) length);
        if (payload != null) {
            b.put(payload);
        }
        send(b.flip(), sendTimeoutMs);
    }

    /** A simple reply; data only when the caller expects read data and the error is zero. */
    record Reply(int error, long cookie, byte[] data) {}

    Reply reply(int readLength) throws IOException {
        return reply(readLength, TIMEOUT_MS);
    }

    /**
     * A simple reply, waiting up to {@code timeoutMs} for each part of it ({@link #NO_TIMEOUT}:
     * forever, for a server that holds requests on purpose). A reply cut short by the deadline
     * leaves the stream out of step: the connection is then good only for closing.
     */
    Reply reply(int readLength, long timeoutMs) throws IOException {
        ByteBuffer h = readFully(16, timeoutMs);
        int magic = h.getInt();
        if (magic != SIMPLE_REPLY_MAGIC) {
            throw new IOException("bad reply magic 0x" + Integer.toHexString(magic));
        }
        int error = h.getInt();
        long cookie = h.getLong();
        byte[] data = null;
        if (error == 0 && readLength > 0) {
            data = new byte[readLength];
            readFully(readLength, timeoutMs).get(data);
        }
        return new Reply(error, cookie, data);
    }

    /** Reads and returns the error (0 on success), filling {@code out}. */
    int read(long offset, byte[] out) throws IOException {
        request(0, CMD_READ, offset, out.length, null);
        Reply r = reply(out.length);
        if (r.error == 0) {
            System.arraycopy(r.data, 0, out, 0, out.length);
        }
        return r.error;
    }

    int write(long offset, byte[] data, int flags) throws IOException {
        request(flags, CMD_WRITE, offset, data.length, data);
        return reply(0).error;
    }

    int command(int type, int flags, long offset, long length) throws IOException {
        request(flags, type, offset, length, null);
        return reply(0).error;
    }

    void send(ByteBuffer b) throws IOException {
        send(b, TIMEOUT_MS);
    }

    /** Sends all of {@code b}, waiting up to {@code timeoutMs} ({@link #NO_TIMEOUT}: forever) for room. */
    void send(ByteBuffer b, long timeoutMs) throws IOException {
        long start = System.currentTimeMillis();
        while (b.hasRemaining()) {
            if (ch.write(b) == 0) {
                sawBackpressure = true;
                long waited = System.currentTimeMillis() - start;
                if (waited > timeoutMs) {
                    throw new IOException("server stopped reading for " + timeoutMs + " ms");
                }
                if (waited > 1000) {
                    // A long hold (a server that stopped on purpose): stop burning a core on it.
                    LockSupport.parkNanos(1_000_000);
                } else {
                    Thread.onSpinWait();
                }
            }
        }
    }

    void sendRaw(byte[] bytes) throws IOException {
        send(ByteBuffer.wrap(bytes));
    }

    ByteBuffer readFully(int n) throws IOException {
        return readFully(n, TIMEOUT_MS);
    }

    /** Reads exactly {@code n} bytes, waiting up to {@code timeoutMs} ({@link #NO_TIMEOUT}: forever). */
    ByteBuffer readFully(int n, long timeoutMs) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        long start = System.currentTimeMillis();
        while (b.hasRemaining()) {
            long left = timeoutMs == NO_TIMEOUT ? 0 : timeoutMs - (System.currentTimeMillis() - start);
            if (timeoutMs != NO_TIMEOUT && left <= 0) {
                throw new IOException("no answer from the server within " + timeoutMs + " ms");
            }
            // select(0) blocks until the socket is readable (or the selector is closed).
            selector.select(left);
            selector.selectedKeys().clear();
            if (ch.read(b) < 0) {
                throw new EOFException("server closed the connection");
            }
        }
        return b.flip();
    }

    /** True once the server has closed the connection (waits for it up to the deadline). */
    boolean closedByServer() throws IOException {
        try {
            readFully(1);
            return false;
        } catch (EOFException e) {
            return true;
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().contains("Connection reset")) {
                return true;
            }
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        selector.close();
        ch.close();
    }
}
