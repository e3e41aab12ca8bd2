package io.repl.agent.witness;

import static io.repl.agent.witness.WitnessFixture.awaitLogged;
import static io.repl.agent.witness.WitnessFixture.inSync;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import io.repl.agent.config.ConfigException;
import io.repl.protocol.WitnessVerdict;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What the witness serves, and what it refuses, when its configuration or its state is not all good. */
@Timeout(60)
class WitnessServerTest {
    @TempDir
    Path dir;
    private EventLoopGroup group;
    private WitnessServer server;
    private final List<WitnessLink> links = new ArrayList<>();
    private final List<Socket> sockets = new ArrayList<>();

    @BeforeEach
    void setUp() {
        group = WitnessFixture.group();
        WitnessFixture.logLines().clear();
    }

    @AfterEach
    void tearDown() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        links.forEach(WitnessLink::close);
        if (server != null) {
            server.close();
        }
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private Path conf() {
        return dir.resolve("conf");
    }

    private Path state() {
        return dir.resolve("state");
    }

    private WitnessFixture.Recorder connect(String resource, String node, int port) {
        WitnessFixture.Recorder r = new WitnessFixture.Recorder();
        links.add(WitnessLink.start(group.next(), WitnessFixture.link(resource, node, port), r));
        return r;
    }

    @Test
    void aBrokenFileBesideAGoodOneLeavesTheGoodOneServed() throws Exception {
        int port = WitnessFixture.freePort();
        WitnessFixture.write(conf(), "r0", WitnessFixture.pairToml(port));
        WitnessFixture.write(conf(), "bad", "[witness\n");
        WitnessFixture.write(conf(), "plain", WitnessFixture.pairToml(port).replaceAll("(?s)\\[witness\\]\naddress = "
                + "[^\n]*\n", ""));
        server = WitnessServer.start(group, conf(), state());
        awaitLogged("witness bad: not served: ", "bad.toml: not valid TOML");
        awaitLogged("witness plain: not served: ", "has no [witness] section");
        connect("r0", "alpha", port).awaitConnections(1);
    }

    @Test
    void aDirectoryWithNothingToServeIsAConfigError() throws Exception {
        WitnessFixture.write(conf(), "bad", "[witness\n");
        ConfigException e = assertThrows(ConfigException.class, () -> WitnessServer.start(group, conf(), state()));
        assertTrue(e.getMessage().contains("nothing to serve"), e.getMessage());
    }

    @Test
    void aCorruptRecordKeepsItsResourceUnservedAndTheOthersServed() throws Exception {
        int port = WitnessFixture.freePort();
        WitnessFixture.write(conf(), "r0", WitnessFixture.pairToml(port));
        WitnessFixture.write(conf(), "r1", WitnessFixture.pairToml(port));
        Path records = Files.createDirectories(state().resolve("witness"));
        Files.write(records.resolve("r1.record"), new byte[] {'n', 'o', 'p', 'e'});
        server = WitnessServer.start(group, conf(), state());
        awaitLogged("witness r1: not served: its record cannot be read: ", "r1.record: only 4 bytes");

        WitnessFixture.Recorder r0 = connect("r0", "alpha", port);
        r0.awaitConnections(1);
        WitnessFixture.Recorder r1 = connect("r1", "alpha", port);
        awaitLogged("witness: connection", "WRONG_RESOURCE", "no resource 'r1'");
        assertEquals(0, r1.count("connected"), r1.events.toString());
        assertTrue(Files.exists(records.resolve("r1.record")), "the witness leaves the bad file for the operator");
    }

    @Test
    void aRecordThatCannotBeReadAnywhereIsFatal() throws Exception {
        int port = WitnessFixture.freePort();
        WitnessFixture.write(conf(), "r0", WitnessFixture.pairToml(port));
        Path records = Files.createDirectories(state().resolve("witness"));
        Files.write(records.resolve("r0.record"), new byte[64]);
        IOException e = assertThrows(IOException.class, () -> WitnessServer.start(group, conf(), state()));
        assertTrue(e.getMessage().contains("no witness record could be read"), e.getMessage());
    }

    @Test
    void anAddressThatCannotBeBoundIsFatalWhenItIsTheOnlyOne() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = taken.getLocalPort();
            WitnessFixture.write(conf(), "r0", WitnessFixture.pairToml(port));
            IOException e = assertThrows(IOException.class, () -> WitnessServer.start(group, conf(), state()));
            assertTrue(e.getMessage().contains("could not listen on any address (127.0.0.1:" + port + ")"),
                    e.getMessage());
            awaitLogged("witness: cannot listen on 127.0.0.1:" + port, "not serving r0");
        }
    }

    @Test
    void anAddressThatCannotBeBoundLeavesTheOthersServed() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            int free = WitnessFixture.freePort();
            WitnessFixture.write(conf(), "r0", WitnessFixture.pairToml(taken.getLocalPort()));
            WitnessFixture.write(conf(), "r1", WitnessFixture.pairToml(free));
            server = WitnessServer.start(group, conf(), state());
            awaitLogged("witness: cannot listen on 127.0.0.1:" + taken.getLocalPort(), "not serving r0");
            assertEquals(List.of(new InetSocketAddress("127.0.0.1", free)), server.listenAddresses());
            awaitLogged("witness listening on /127.0.0.1:" + free + " for r1");
            connect("r1", "beta", free).awaitConnections(1);
        }
    }

    @Test
    void strangersAreLimitedInNumberAndInTime() throws Exception {
        int port = WitnessFixture.freePort();
        WitnessFixture.write(conf(), "r0", WitnessFixture.pairToml(port));
        server = WitnessServer.start(group, conf(), state());
        int allowed = WitnessServer.UNAUTHENTICATED_BASE + 2;
        for (int i = 0; i <= allowed; i++) {
            Socket s = new Socket();
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            sockets.add(s);
        }
        awaitLogged("witness: refused connection from", "already " + allowed + " unauthenticated connections open");
        // The timeout of r0 is 2 s; the silent strangers are closed then.
        awaitLogged("closed before authentication: handshake not finished within 2000 ms");
        WitnessFixture.Recorder alpha = connect("r0", "alpha", port);
        alpha.awaitConnections(1);
    }

    @Test
    void aNewerSessionOfANodeReplacesTheOlderOne() throws Exception {
        int port = WitnessFixture.freePort();
        WitnessFixture.write(conf(), "r0", WitnessFixture.pairToml(port));
        server = WitnessServer.start(group, conf(), state());
        WitnessFixture.Recorder first = connect("r0", "alpha", port);
        first.awaitConnections(1);
        WitnessFixture.Recorder second = connect("r0", "alpha", port);
        second.awaitConnections(1);
        first.awaitDisconnections(1);
        awaitLogged("witness r0: session of alpha", "ended: superseded by a newer connection of alpha");
    }

    @Test
    void aReportThatIsNotInSyncIsIgnored() throws Exception {
        int port = WitnessFixture.freePort();
        WitnessFixture.write(conf(), "r0", WitnessFixture.pairToml(port));
        server = WitnessServer.start(group, conf(), state());
        WitnessFixture.Recorder r = connect("r0", "alpha", port);
        r.awaitConnections(1);
        links.get(0).send(new io.repl.protocol.WitnessReport(7, 0, List.of()));
        WitnessVerdict v = r.awaitVerdict();
        assertEquals(WitnessVerdict.Outcome.IGNORED, v.outcome(), v.detail());
        links.get(0).send(inSync(7));
        assertEquals(WitnessVerdict.Outcome.IGNORED, r.awaitVerdict().outcome(), "waits for beta");
    }
}
