package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The network the failover tests stand on: three hosts on one bridge, partitions that cut
 * exactly the pair they name, one-way cuts that really are one way, and heals and a close
 * that leave nothing behind. Reachability is a TCP handshake (bash's /dev/tcp) or a UDP
 * datagram to a listener inside the target host's namespace.
 */
class NetnsHostsIT {
    private static final int PORT = 7000;
    /** Long enough for a handshake on a veth, short enough to keep the negative checks cheap. */
    private static final Duration CONNECT = Duration.ofSeconds(2);
    private static final String[] HOSTS = {"alpha", "beta", "witness"};
    private NetnsHosts net;

    @BeforeEach
    void segment() throws Exception {
        net = NetnsHosts.create(HOSTS);
        for (String h : HOSTS) {
            net.listen(h, PORT);
        }
    }

    @AfterEach
    void teardown() throws Exception {
        if (net != null) {
            net.close();
        }
    }

    private boolean connects(String from, String to) throws Exception {
        return net.tcpConnects(from, to, PORT, CONNECT);
    }

    private void assertAllPairsConnect() throws Exception {
        for (String from : HOSTS) {
            for (String to : HOSTS) {
                if (!from.equals(to)) {
                    assertTrue(connects(from, to), from + " cannot reach " + to + " on " + net);
                }
            }
        }
    }

    @Test
    void aCutPairCannotTalkWhileEveryOtherPairCanUntilHealed() throws Exception {
        assertAllPairsConnect();

        net.cut("alpha", "beta");
        assertEquals(4, net.rules().size(), "INPUT and OUTPUT on both sides: " + net.rules());
        assertFalse(connects("alpha", "beta"), "alpha reached beta through the cut");
        assertFalse(connects("beta", "alpha"), "beta reached alpha through the cut");
        for (String h : new String[] {"alpha", "beta"}) {
            assertTrue(connects(h, "witness"), h + " lost the witness, which was not cut");
            assertTrue(connects("witness", h), "the witness lost " + h + ", which was not cut from it");
        }
        assertFalse(net.sendUdp("alpha", "beta", PORT, "through-the-cut"), "alpha's OUTPUT rule let a datagram out");

        net.heal("alpha", "beta");
        assertEquals(List.of(), net.rules());
        assertAllPairsConnect();
    }

    @Test
    void aOneWayCutDropsOnlyWhatGoesOneWay() throws Exception {
        net.cutOneWay("alpha", "beta");
        assertEquals(List.of(net.ns("beta") + ": INPUT -s " + net.ip("alpha") + " DROP"), net.rules());

        // alpha's SYN never reaches beta.
        assertFalse(connects("alpha", "beta"), "alpha's SYN reached beta through the one-way cut");
        // beta's SYN does reach alpha, which answers; the SYN-ACK is what is dropped, so alpha
        // is left with a half-open connection from beta and beta never completes its connect.
        assertFalse(connects("beta", "alpha"), "alpha's SYN-ACK reached beta through the one-way cut");
        assertTrue(net.halfOpenFrom("alpha", "beta"), "beta's SYN did not reach alpha: the cut is not one way");

        // Datagrams show the direction plainly: beta to alpha arrives, alpha to beta does not.
        NetnsHosts.Listener atAlpha = net.listen("alpha", PORT + 1);
        NetnsHosts.Listener atBeta = net.listen("beta", PORT + 1);
        assertTrue(net.sendUdp("beta", "alpha", PORT + 1, "beta-to-alpha"));
        atAlpha.await("udp " + net.ip("beta") + " beta-to-alpha", Duration.ofSeconds(10));
        assertTrue(net.sendUdp("alpha", "beta", PORT + 1, "alpha-to-beta-cut"), "alpha's send failed locally");

        // The witness is cut from nobody.
        for (String h : new String[] {"alpha", "beta"}) {
            assertTrue(connects(h, "witness"), h + " lost the witness");
            assertTrue(connects("witness", h), "the witness lost " + h);
        }

        net.heal("beta", "alpha");
        assertEquals(List.of(), net.rules());
        assertTrue(net.sendUdp("alpha", "beta", PORT + 1, "alpha-to-beta-healed"));
        atBeta.await("udp " + net.ip("alpha") + " alpha-to-beta-healed", Duration.ofSeconds(10));
        // The datagram sent during the cut was dropped, not delayed: it never arrives.
        assertFalse(atBeta.saw("udp " + net.ip("alpha") + " alpha-to-beta-cut"), "got " + atBeta.events());
        assertAllPairsConnect();
    }

    @Test
    void healAllRemovesEveryRuleAndCloseEveryNamespace() throws Exception {
        net.cut("alpha", "beta");
        net.cut("alpha", "witness");
        net.cut("alpha", "beta"); // again: already in force, so not added twice
        net.cutOneWay("witness", "beta");
        assertEquals(9, net.rules().size(), net.rules().toString());
        assertFalse(connects("beta", "witness"), "beta reached the witness against the one-way cut");

        net.healAll();
        assertEquals(List.of(), net.rules());
        for (String h : HOSTS) {
            String left = Cmd.run("ip", "netns", "exec", net.ns(h), "iptables", "-w", "-S").ok().out();
            assertFalse(left.contains("DROP"), h + " still has rules:\n" + left);
        }
        assertAllPairsConnect();

        net.close();
        String namespaces = Cmd.run("ip", "netns", "list").ok().out();
        assertFalse(namespaces.contains(net.tag), "namespaces left behind:\n" + namespaces);
        net.close(); // idempotent
    }
}
