package io.repl.agent.ctl;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** replctl's side of the control socket: one request, one response. */
final class ControlClient {
    private static final int RESPONSE_BYTES_MAX = 16 << 20;

    private final Path socket;

    ControlClient(Path socket) {
        this.socket = socket;
    }

    /** The agent could not be reached at all. */
    static final class Unreachable extends Exception {
        private static final long serialVersionUID = 1L;

        Unreachable(String m) {
            super(m);
        }
    }

    JsonTree call(String command, String resource, Map<String, Object> options) throws Unreachable, IOException {
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("command", command);
        req.put("resource", resource);
        req.put("options", options);
        SocketChannel ch;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            throw new Unreachable("cannot reach the repl agent at " + socket + " (" + e.getMessage() + ").\n"
                    + "Is it running? Start it with 'bin/repl-agent --config-dir DIR' (or 'systemctl start "
                    + "repl-agent'), or point replctl at its socket with --control-socket PATH.");
        }
        try (ch) {
            byte[] body = ClientJson.write(req).getBytes(StandardCharsets.UTF_8);
            ByteBuffer out = ByteBuffer.allocate(body.length + 1).put(body).put((byte) '\n').flip();
            while (out.hasRemaining()) {
                ch.write(out);
            }
            ByteArrayOutputStream in = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            var stream = Channels.newInputStream(ch);
            int n;
            while ((n = stream.read(buf)) > 0) {
                in.write(buf, 0, n);
                if (in.size() > RESPONSE_BYTES_MAX) {
                    throw new IOException("response from the agent exceeds " + RESPONSE_BYTES_MAX + " bytes");
                }
            }
            String text = in.toString(StandardCharsets.UTF_8).trim();
            if (text.isEmpty()) {
                throw new IOException("the agent closed the connection without answering");
            }
            return ClientJson.parse(text);
        }
    }
}
