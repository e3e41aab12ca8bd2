package io.repl.agent.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.agent.config.ConfigLoader;
import io.repl.agent.config.HostPort;
import io.repl.agent.config.ResourceConfig;
import io.repl.protocol.Features;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code [net]} key and the nodes' addresses reach the peer link; PeerLinkTest,
 * PeerLinkLivenessTest, PeerLinkRejectionTest and PeerLinkTimersTest show what the link does
 * with each.
 */
class PeerLinkConfigTest {
    @TempDir
    Path dir;

    private ResourceConfig load(String net) throws Exception {
        return load("protocol = \"C\"", net);
    }

    private ResourceConfig load(String top, String net) throws Exception {
        return new ConfigLoader().load(Files.writeString(dir.resolve("r0.toml"), String.join("\n",
                top, "[net]", net,
                "[node.alpha]", "address = \"10.0.0.1:7789\"", "disk = \"/dev/sdb\"",
                "[node.beta]", "address = \"10.0.0.2:7790\"", "disk = \"/dev/sdb\"", "")));
    }

    @Test
    void everyNetKeyOfTheFileReachesTheLink() throws Exception {
        PeerLinkConfig c = PeerLinkConfig.from(load(String.join("\n",
                "shared-secret = \"s3cret\"", "compression = \"lz4\"", "ping-interval = \"1500ms\"",
                "ping-timeout = \"700ms\"", "connect-retry = \"3s\"", "timeout = \"9s\"")), "beta");
        assertArrayEquals("s3cret".getBytes(StandardCharsets.UTF_8), c.sharedSecret());
        assertArrayEquals("s3cret".getBytes(StandardCharsets.UTF_8), c.handshakeConfig().secret());
        assertTrue(c.lz4());
        assertTrue(Features.has(c.handshakeConfig().features(), Features.LZ4), "LZ4 is offered in HELLO");
        assertEquals(Duration.ofMillis(1500), c.pingInterval());
        assertEquals(Duration.ofMillis(700), c.pingTimeout());
        assertEquals(Duration.ofSeconds(3), c.connectRetry());
        assertEquals(Duration.ofSeconds(9), c.timeout());
        assertEquals("beta", c.localNode());
        assertEquals("alpha", c.peerNode());
        assertEquals(new HostPort("10.0.0.2", 7790), c.listenAddress(), "this node listens on its own address");
        assertEquals(new HostPort("10.0.0.1", 7789), c.peerAddress(), "and dials the peer's");
    }

    /**
     * Under pull-ahead the link turns unwritable at congestion-fill (the core then goes Ahead) and
     * writable again once three quarters of it drained, at most 8 MiB left (the core then
     * resyncs); under block it keeps its own marks.
     */
    @Test
    void underPullAheadTheCongestionFillIsTheLinksHighWaterMark() throws Exception {
        PeerLinkConfig block = PeerLinkConfig.from(load("shared-secret = \"s\""), "alpha");
        assertEquals(PeerLinkConfig.WRITE_BUFFER_HIGH_BYTES_DEFAULT, block.writeBufferHighBytes());
        assertEquals(PeerLinkConfig.WRITE_BUFFER_LOW_BYTES_DEFAULT, block.writeBufferLowBytes());
        PeerLinkConfig fill = PeerLinkConfig.from(load("protocol = \"A\"", String.join("\n", "shared-secret = \"s\"",
                "on-congestion = \"pull-ahead\"", "congestion-fill = \"8M\"")), "alpha");
        assertEquals(8 << 20, fill.writeBufferHighBytes());
        assertEquals(2 << 20, fill.writeBufferLowBytes());
        PeerLinkConfig large = PeerLinkConfig.from(load("protocol = \"A\"", String.join("\n", "shared-secret = \"s\"",
                "on-congestion = \"pull-ahead\"", "congestion-fill = \"256M\"")), "alpha");
        assertEquals(256 << 20, large.writeBufferHighBytes());
        assertEquals(PeerLinkConfig.WRITE_BUFFER_LOW_BYTES_DEFAULT, large.writeBufferLowBytes());
        PeerLinkConfig byDefault = PeerLinkConfig.from(load("protocol = \"A\"", String.join("\n",
                "shared-secret = \"s\"", "on-congestion = \"pull-ahead\"")), "alpha");
        assertEquals(ConfigLoader.CONGESTION_FILL_BYTES_DEFAULT, byDefault.writeBufferHighBytes(),
                "the fill defaults to the high water mark block holds writes at");
        assertEquals(PeerLinkConfig.WRITE_BUFFER_HIGH_BYTES_DEFAULT, byDefault.writeBufferHighBytes());
    }

    @Test
    void compressionNoneDoesNotOfferLz4() throws Exception {
        PeerLinkConfig c = PeerLinkConfig.from(load("shared-secret = \"s\"\ncompression = \"none\""), "alpha");
        assertFalse(c.lz4());
        assertFalse(Features.has(c.handshakeConfig().features(), Features.LZ4));
        assertTrue(Features.has(c.handshakeConfig().features(), Features.CSUM_RESYNC | Features.ZERO_BLOCKS),
                "checksum resync and zero blocks are offered whatever the compression");
        PeerLinkConfig byDefault = PeerLinkConfig.from(load("shared-secret = \"s\""), "alpha");
        assertFalse(byDefault.lz4(), "off unless asked for");
    }
}
