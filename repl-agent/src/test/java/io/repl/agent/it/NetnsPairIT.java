package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two agents in two network namespaces joined by a veth pair, as two hosts would be: the
 * initial sync, mirrored writes, then a partition made with iptables inside the namespaces
 * while the Primary keeps writing, and the heal, after which only what changed is resynced
 * and the replicas are identical again.
 */
class NetnsPairIT {
    @TempDir
    Path dir;
    private String nsA;
    private String nsB;

    private static void sh(String... argv) throws Exception {
        Cmd.run(argv).ok();
    }

    @BeforeEach
    void network() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for network namespaces");
        assumeTrue(Cmd.available("ip") && Cmd.available("iptables"), "needs iproute2 and iptables");
        String tag = Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        nsA = "repl-a-" + tag;
        nsB = "repl-b-" + tag;
        sh("ip", "netns", "add", nsA);
        sh("ip", "netns", "add", nsB);
        sh("ip", "link", "add", "va-" + tag, "type", "veth", "peer", "name", "vb-" + tag);
        sh("ip", "link", "set", "va-" + tag, "netns", nsA);
        sh("ip", "link", "set", "vb-" + tag, "netns", nsB);
        sh("ip", "-n", nsA, "addr", "add", "10.231.7.1/24", "dev", "va-" + tag);
        sh("ip", "-n", nsB, "addr", "add", "10.231.7.2/24", "dev", "vb-" + tag);
        for (String ns : new String[] {nsA, nsB}) {
            sh("ip", "-n", ns, "link", "set", "lo", "up");
        }
        sh("ip", "-n", nsA, "link", "set", "va-" + tag, "up");
        sh("ip", "-n", nsB, "link", "set", "vb-" + tag, "up");
    }

    @AfterEach
    void teardown() throws Exception {
        if (nsA != null) {
            Cmd.run("ip", "netns", "del", nsA);
            Cmd.run("ip", "netns", "del", nsB);
        }
    }

    private void partition(boolean on) throws Exception {
        String op = on ? "-A" : "-D";
        sh("ip", "netns", "exec", nsA, "iptables", op, "INPUT", "-s", "10.231.7.2", "-j", "DROP");
        sh("ip", "netns", "exec", nsA, "iptables", op, "OUTPUT", "-d", "10.231.7.2", "-j", "DROP");
    }

    @Test
    void mirrorAcrossNamespacesSurvivesAPartitionAndResyncsOnlyWhatChanged() throws Exception {
        try (PairFixture p = new PairFixture(dir, 96L << 20, "C", "s3cret", "s3cret", "10.231.7.1", "10.231.7.2",
                nsA, nsB)) {
            p.startConnected().initialSync();
            long data = p.dataBytes();
            Cmd.run("fio", "--name=netns", "--ioengine=nbd", "--uri=" + p.uri(p.alpha), "--rw=randwrite", "--bs=64k",
                    "--iodepth=8", "--size=32M", "--verify=crc32c", "--verify_fatal=1", "--verify_state_save=0").ok();
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "flush").ok();
            p.waitSynced();
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "mirrored across the veth pair");

            partition(true);
            NbdClientsIT.waitFor(() -> !"Connected".equals(p.status(p.alpha).path("connection").asText()),
                    "alpha to notice the partition");
            // The Primary keeps serving while its peer is unreachable; the writes are recorded
            // in its bitmap.
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "write -P 0x6b 8M 2M", "-c",
                    "write -P 0x6c 40M 1M", "-c", "flush").ok();
            long dirty = p.status(p.alpha).path("outOfSyncBytes").asLong();
            assertTrue(dirty >= 3L << 20 && dirty < 16L << 20, "about 3 MiB marked out of sync, got " + dirty);

            partition(false);
            p.waitSynced();
            Cmd.run("qemu-io", "-f", "raw", p.uri(p.alpha), "-c", "flush").ok();
            assertEquals(0, p.status(p.alpha).path("outOfSyncBytes").asLong());
            assertEquals(p.dataHash(p.alpha, data), p.dataHash(p.beta, data), "identical after the heal");
            assertTrue(p.alpha.log().contains("BITMAP_SYNC_SOURCE") || p.alpha.log().contains("bitmap"),
                    "the heal resynced from the bitmap, not in full:\n" + p.alpha.log());
        }
    }
}
