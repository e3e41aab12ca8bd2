package io.repl.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.repl.agent.config.HostPort;
import io.repl.agent.metrics.Exposition.Type;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

class ExpositionTest {

    @Test
    void aScrapeParsesBackWithEachFamilyBehindItsHelpAndTypeAndLabelsEscaped() {
        Exposition x = new Exposition();
        x.family("repl_a_total", Type.COUNTER, "a counter");
        x.family("repl_b_bytes", Type.GAUGE, "a gauge\nwith a \\ in its help");
        x.family("repl_unused", Type.GAUGE, "no samples: left out");
        x.family("repl_d_seconds", Type.HISTOGRAM, "a histogram");
        x.sample("repl_a_total", 3, "resource", "r0");
        x.sample("repl_b_bytes", 1.5, "resource", "r\"0\\\n");
        x.sample("repl_a_total", 12345678901L, "resource", "r1");
        x.sample("repl_d_seconds", "_bucket", 1, "le", Exposition.le(0.001));
        x.sample("repl_d_seconds", "_bucket", 2, "le", Exposition.le(Double.POSITIVE_INFINITY));
        x.sample("repl_d_seconds", "_sum", 0.0125);
        x.sample("repl_d_seconds", "_count", 2);
        String text = x.text();

        ExpositionParser.Scrape s = ExpositionParser.parse(text);
        assertEquals(java.util.List.of("repl_a_total", "repl_b_bytes", "repl_d_seconds"),
                java.util.List.copyOf(s.types().keySet()), text);
        assertEquals("counter", s.types().get("repl_a_total"));
        assertEquals("histogram", s.types().get("repl_d_seconds"));
        assertEquals(3, s.value("repl_a_total", "resource", "r0"));
        assertEquals(12345678901.0, s.value("repl_a_total", "resource", "r1"));
        assertTrue(text.contains("repl_a_total{resource=\"r1\"} 12345678901\n"), text);
        assertEquals("r\\\"0\\\\\\n", s.find("repl_b_bytes").get(0).labels().get("resource"), text);
        assertEquals(2, s.value("repl_d_seconds_bucket", "le", "+Inf"));
        assertEquals(0.0125, s.value("repl_d_seconds_sum"));
        assertTrue(text.contains("# HELP repl_b_bytes a gauge\\nwith a \\\\ in its help\n"), text);
        assertFalse(text.contains("repl_unused"), text);
    }

    @Test
    void badNamesAndUndeclaredFamiliesAreProgrammerErrors() {
        Exposition x = new Exposition();
        assertThrows(IllegalArgumentException.class, () -> x.family("repl-bad", Type.GAUGE, "h"));
        assertThrows(IllegalArgumentException.class, () -> x.sample("repl_undeclared", 1));
        x.family("repl_ok", Type.GAUGE, "h");
        assertThrows(IllegalArgumentException.class, () -> x.family("repl_ok", Type.COUNTER, "h"));
        assertThrows(IllegalArgumentException.class, () -> x.sample("repl_ok", 1, "bad-label", "v"));
    }

    @Test
    void theServerAnswersGetMetricsAndRefusesOtherPathsAndMethods() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        ExecutorService scrapes = Executors.newSingleThreadExecutor();
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            port = free.getLocalPort();
        }
        MetricsServer server = MetricsServer.start(group, new HostPort("127.0.0.1", port), scrapes, () -> {
            Exposition x = new Exposition();
            x.family("repl_x", Type.GAUGE, "x");
            x.sample("repl_x", 7);
            return x.text();
        });
        try {
            String ok = http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
            assertTrue(ok.startsWith("HTTP/1.1 200 OK\r\n"), ok);
            assertTrue(ok.contains("Content-Type: text/plain; version=0.0.4"), ok);
            assertEquals(7, ExpositionParser.parse(ok.substring(ok.indexOf("\r\n\r\n") + 4)).value("repl_x"));
            assertTrue(http(port, "GET / HTTP/1.0\r\n\r\n").startsWith("HTTP/1.1 404 "));
            assertTrue(http(port, "POST /metrics HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 405 "));
            assertTrue(http(port, "nonsense\r\n\r\n").startsWith("HTTP/1.1 400 "));
        } finally {
            server.close();
            scrapes.shutdown();
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static String http(int port, String request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
