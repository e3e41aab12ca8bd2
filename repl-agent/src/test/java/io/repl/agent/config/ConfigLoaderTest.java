package io.repl.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.AfterSplitBrain;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.Hook;
import io.repl.core.replication.OnCongestion;
import io.repl.core.replication.RateControl;
import io.repl.io.EngineKind;
import io.repl.protocol.DigestAlgorithm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {
    private static final String PAIR = String.join("\n",
            "protocol = \"B\"",
            "[net]",
            "shared-secret = \"s3cret\"",
            "compression = \"none\"",
            "ping-interval = \"2s\"",
            "timeout = \"500ms\"",
            "[disk]",
            "fencing = \"resource-only\"",
            "io-engine = \"filechannel\"",
            "size = \"64M\"",
            "[handlers]",
            "after-promote = \"/usr/local/sbin/mount-data\"",
            "[node.alpha]",
            "address = \"10.0.0.1:7789\"",
            "disk = \"/dev/sdb\"",
            "meta-disk = \"internal\"",
            "nbd-socket = \"/run/repl/r0.nbd\"",
            "[node.beta]",
            "address = \"[fd00::2]:7789\"",
            "disk = \"/dev/sdc\"",
            "meta-disk = \"/var/lib/repl/r0.md\"",
            "nbd-listen = \"127.0.0.1:10809\"",
            "");

    @TempDir
    Path dir;
    private final ConfigLoader loader = new ConfigLoader();

    private Path write(String name, String toml) throws Exception {
        return Files.writeString(dir.resolve(name + ".toml"), toml);
    }

    private String error(String toml) throws Exception {
        Path f = write("r0", toml);
        ConfigException e = assertThrows(ConfigException.class, () -> loader.load(f));
        assertTrue(e.getMessage().startsWith(f.toString() + ": "), "names the file: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void readsAFullPairFile() throws Exception {
        ResourceConfig c = loader.load(write("r0", PAIR));
        assertEquals("r0", c.name());
        assertEquals(ResourceConfig.Protocol.B, c.protocol());
        assertEquals("s3cret", c.net().sharedSecret());
        assertEquals(ResourceConfig.Compression.NONE, c.net().compression());
        assertEquals(Duration.ofSeconds(2), c.net().pingInterval());
        assertEquals(Duration.ofMillis(500), c.net().timeout());
        assertEquals(Duration.ofSeconds(5), c.net().pingTimeout(), "default");
        assertEquals(FailoverPolicy.Fencing.OUTDATE, c.disk().fencing(), "resource-only is DRBD's name for outdate");
        assertTrue(c.witness().isEmpty());
        assertEquals(EngineKind.FILECHANNEL, c.disk().ioEngine());
        assertEquals(64L << 20, c.disk().sizeBytes());
        assertEquals("/usr/local/sbin/mount-data", c.handlers().get("after-promote"));
        NodeConfig a = c.local("alpha");
        assertEquals(new HostPort("10.0.0.1", 7789), a.address());
        assertTrue(a.internalMeta());
        assertNull(a.nbdListen());
        NodeConfig b = c.peerOf("alpha").orElseThrow();
        assertEquals("beta", b.name());
        assertEquals(new HostPort("fd00::2", 7789), b.address());
        assertEquals(Path.of("/var/lib/repl/r0.md"), b.metaDisk());
        assertEquals(Path.of("/run/repl/r0.nbd"), b.nbdSocket(), "default socket is /run/repl/NAME.nbd");
        assertEquals(new HostPort("127.0.0.1", 10809), b.nbdListen());
        assertTrue(!c.standalone());
    }

    @Test
    void onCongestionBlocksByDefaultAndPullAheadTakesAFillWithProtocolA() throws Exception {
        ResourceConfig c = loader.load(write("r0", PAIR));
        assertEquals(OnCongestion.BLOCK, c.net().onCongestion(), "block unless asked");
        assertEquals(0, c.net().congestionFillBytes(), "no fill under block");
        ResourceConfig a = loader.load(write("r0", PAIR.replace("protocol = \"B\"", "protocol = \"A\"")
                .replace("[net]\n", "[net]\non-congestion = \"pull-ahead\"\n")));
        assertEquals(OnCongestion.PULL_AHEAD, a.net().onCongestion());
        assertEquals(32L << 20, a.net().congestionFillBytes(), "the link's high water mark by default");
        ResourceConfig b = loader.load(write("r0", PAIR.replace("protocol = \"B\"", "protocol = \"A\"")
                .replace("[net]\n", "[net]\non-congestion = \"pull-ahead\"\ncongestion-fill = \"100MiB\"\n")));
        assertEquals(OnCongestion.PULL_AHEAD, b.net().onCongestion());
        assertEquals(100L << 20, b.net().congestionFillBytes());
        ResourceConfig explicit = loader.load(write("r0",
                PAIR.replace("[net]\n", "[net]\non-congestion = \"block\"\n")));
        assertEquals(OnCongestion.BLOCK, explicit.net().onCongestion());
    }

    @Test
    void afterSplitBrainPoliciesParseAndNonsenseIsRefused() throws Exception {
        ResourceConfig d = loader.load(write("r0", PAIR));
        assertEquals(AfterSplitBrain.defaults(), d.net().afterSplitBrain(), "disconnect everywhere unless asked");
        ResourceConfig c = loader.load(write("r0", PAIR.replace("[net]\n", "[net]\nafter-sb-0pri = "
                + "\"discard-zero-changes\"\nafter-sb-1pri = \"consensus\"\nafter-sb-2pri = \"disconnect\"\n")));
        assertEquals(new AfterSplitBrain(AfterSplitBrain.ZeroPrimaries.DISCARD_ZERO_CHANGES,
                AfterSplitBrain.OnePrimary.CONSENSUS, AfterSplitBrain.TwoPrimaries.DISCONNECT), c.net().afterSplitBrain());
        Path consensusAlone = write("r0", PAIR.replace("[net]\n", "[net]\nafter-sb-1pri = \"consensus\"\n"));
        ConfigException e = assertThrows(ConfigException.class, () -> loader.load(consensusAlone));
        assertTrue(e.getMessage().contains("net.after-sb-1pri") && e.getMessage().contains("after-sb-0pri"),
                e.getMessage());
        Path unknown = write("r0", PAIR.replace("[net]\n", "[net]\nafter-sb-2pri = \"discard-secondary\"\n"));
        ConfigException u = assertThrows(ConfigException.class, () -> loader.load(unknown));
        assertTrue(u.getMessage().contains("net.after-sb-2pri") && u.getMessage().contains("is not one of disconnect"),
                u.getMessage());
        Path violent = write("r0", PAIR.replace("[net]\n", "[net]\nafter-sb-1pri = \"violently-as0p\"\n"));
        ConfigException v = assertThrows(ConfigException.class, () -> loader.load(violent));
        assertTrue(v.getMessage().contains("disconnect, consensus, discard-secondary"), v.getMessage());
    }

    @Test
    void theResyncRateKeysReachTheController() throws Exception {
        String node = "[node.a]\ndisk = \"/d\"\n";
        RateControl d = loader.load(write("r0", node)).disk().resyncRate();
        assertEquals(RateControl.defaults(), d);
        RateControl c = loader.load(write("r0", "[disk]\nresync-rate-max = \"100M\"\nresync-rate-min = \"1M/s\"\n"
                + "c-plan-ahead = \"5s\"\nc-fill-target = \"2M\"\n" + node)).disk().resyncRate();
        assertEquals(new RateControl(1L << 20, 100L << 20, 5_000_000_000L, 2L << 20, 0), c);
        RateControl fixed = loader.load(write("r0", "[disk]\nc-plan-ahead = \"0\"\nresync-rate = \"40M\"\n"
                + node)).disk().resyncRate();
        assertEquals(RateControl.fixed(40L << 20, d.minBytesPerSecond(), d.maxBytesPerSecond(),
                d.fillTargetBytes()), fixed);
        assertTrue(!fixed.dynamic());
        RateControl atCeiling = loader.load(write("r0", "[disk]\nc-plan-ahead = \"0\"\nresync-rate-max = \"50M\"\n"
                + node)).disk().resyncRate();
        assertEquals(50L << 20, atCeiling.fixedBytesPerSecond(), "without resync-rate the fixed rate is the ceiling");
        RateControl lowCeiling = loader.load(write("r0", "[disk]\nresync-rate-max = \"1M\"\n" + node))
                .disk().resyncRate();
        assertEquals(1L << 20, lowCeiling.minBytesPerSecond(), "the default floor comes down to a lower ceiling");
    }

    @Test
    void verifyAlgIsCrc32cByDefaultAndSha256OnRequest() throws Exception {
        assertEquals(DigestAlgorithm.CRC32C, loader.load(write("r0", PAIR)).net().verifyAlgorithm());
        ResourceConfig sha = loader.load(write("r0", PAIR.replace("[net]\n", "[net]\nverify-alg = \"sha256\"\n")));
        assertEquals(DigestAlgorithm.SHA_256, sha.net().verifyAlgorithm());
        ResourceConfig crc = loader.load(write("r0", PAIR.replace("[net]\n", "[net]\nverify-alg = \"crc32c\"\n")));
        assertEquals(DigestAlgorithm.CRC32C, crc.net().verifyAlgorithm());
    }

    @Test
    void theOutOfSyncAndAfterVerifyHandlersAreAccepted() throws Exception {
        ResourceConfig c = loader.load(write("r0", "[handlers]\nout-of-sync = \"/usr/local/sbin/oos\"\n"
                + "after-verify = \"/usr/local/sbin/verified\"\n[node.a]\ndisk = \"/d\"\n"));
        assertEquals("/usr/local/sbin/oos", c.handlers().get("out-of-sync"));
        assertEquals("/usr/local/sbin/verified", c.handlers().get("after-verify"));
    }

    @Test
    void aSingleNodeIsAStandaloneVolumeWithDefaults() throws Exception {
        ResourceConfig c = loader.load(write("data1", "[node.alpha]\ndisk = \"/srv/d.img\"\n"));
        assertTrue(c.standalone());
        assertEquals(ResourceConfig.Protocol.C, c.protocol());
        assertEquals(ResourceConfig.Compression.NONE, c.net().compression());
        assertEquals(EngineKind.AUTO, c.disk().ioEngine());
        assertEquals(0, c.disk().sizeBytes());
        assertEquals(FailoverPolicy.Fencing.OUTDATE, c.disk().fencing(), "the safe policy is the default");
        assertTrue(c.witness().isEmpty());
        assertEquals(Path.of("/run/repl/data1.nbd"), c.local("alpha").nbdSocket());
        assertTrue(c.peerOf("alpha").isEmpty());
    }

    @Test
    void unknownNodeNamesTheSectionsThatExist() throws Exception {
        ResourceConfig c = loader.load(write("r0", PAIR));
        ConfigException e = assertThrows(ConfigException.class, () -> c.local("gamma"));
        assertTrue(e.getMessage().contains("[node.alpha], [node.beta]"), e.getMessage());
        assertTrue(e.getMessage().contains("--node"), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "unknown top key       | colour = \"red\"\\n[node.a]\\ndisk = \"/d\" | colour: unknown key; allowed here: disk, handlers, net, node, protocol, witness",
        "unknown node key      | [node.a]\\ndisk = \"/d\"\\nsize = 1 | node.a.size: unknown key",
        "bad protocol          | protocol = \"D\"\\n[node.a]\\ndisk = \"/d\" | protocol: \"D\" is not one of A, B, C",
        "protocol not string   | protocol = 3\\n[node.a]\\ndisk = \"/d\" | protocol: must be a string in quotes",
        "no nodes              | protocol = \"C\" | node: missing",
        "three nodes           | [node.a]\\ndisk = \"/d\"\\naddress = \"h:1\"\\n[node.b]\\ndisk = \"/d\"\\naddress = \"h:2\"\\n[node.c]\\ndisk = \"/d\"\\naddress = \"h:3\" | at most two are allowed",
        "missing disk          | [node.a]\\nnbd-socket = \"/x\" | node.a.disk: missing",
        "relative disk         | [node.a]\\ndisk = \"sdb\" | node.a.disk: \"sdb\" is not allowed; use an absolute path",
        "pair needs addresses  | [net]\\nshared-secret = \"x\"\\n[node.a]\\ndisk = \"/d\"\\n[node.b]\\ndisk = \"/d\"\\naddress = \"h:2\" | node.a.address: missing",
        "pair needs a secret   | [node.a]\\ndisk = \"/d\"\\naddress = \"h:1\"\\n[node.b]\\ndisk = \"/d\"\\naddress = \"h:2\" | net.shared-secret: missing",
        "same address twice    | [net]\\nshared-secret = \"x\"\\n[node.a]\\ndisk = \"/d\"\\naddress = \"h:1\"\\n[node.b]\\ndisk = \"/d\"\\naddress = \"h:1\" | each node needs its own address",
        "bad port              | [node.a]\\ndisk = \"/d\"\\naddress = \"h:70000\" | node.a.address: \"h:70000\" is not HOST:PORT with a port 1-65535",
        "bad nbd-listen        | [node.a]\\ndisk = \"/d\"\\nnbd-listen = \"localhost\" | node.a.nbd-listen: \"localhost\" is not HOST:PORT",
        "bad meta-disk         | [node.a]\\ndisk = \"/d\"\\nmeta-disk = \"external\" | node.a.meta-disk: \"external\" is not allowed; use \"internal\", \"none\" or an absolute path",
        "none in a pair        | [net]\\nshared-secret = \"x\"\\n[node.a]\\ndisk = \"/d\"\\naddress = \"h:1\"\\nmeta-disk = \"none\"\\n[node.b]\\ndisk = \"/d\"\\naddress = \"h:2\" | node.a.meta-disk: \"none\" is only for a standalone resource",
        "meta on data disk     | [node.a]\\ndisk = \"/d\"\\nmeta-disk = \"/d\" | use \"internal\" for metadata on the data disk",
        "bad compression       | [net]\\ncompression = \"zstd\"\\n[node.a]\\ndisk = \"/d\" | net.compression: \"zstd\" is not one of none, lz4",
        "bad duration          | [net]\\nping-interval = \"5 seconds\"\\n[node.a]\\ndisk = \"/d\" | net.ping-interval: \"5 seconds\" is not a duration such as",
        "duration out of range | [net]\\ntimeout = \"1ms\"\\n[node.a]\\ndisk = \"/d\" | net.timeout: \"1ms\" is out of range; allowed 100ms to 10m",
        "bad fencing           | [disk]\\nfencing = \"stonith\"\\n[node.a]\\ndisk = \"/d\" | disk.fencing: \"stonith\" is not one of outdate, resource-only, resource-and-stonith, dont-care",
        "csums not a boolean   | [disk]\\ncsums = \"yes\"\\n[node.a]\\ndisk = \"/d\" | disk.csums: must be true or false (no quotes)",
        "bad engine            | [disk]\\nio-engine = \"aio\"\\n[node.a]\\ndisk = \"/d\" | disk.io-engine: \"aio\" is not one of auto, io_uring, libaio, filechannel",
        "bad size              | [disk]\\nsize = \"ten gigs\"\\n[node.a]\\ndisk = \"/d\" | disk.size: \"ten gigs\" is not a size",
        "size not 4K multiple  | [disk]\\nsize = \"6000\"\\n[node.a]\\ndisk = \"/d\" | disk.size: \"6000\" is not a multiple of 4K",
        "unknown handler       | [handlers]\\nbefore-lunch = \"/bin/true\"\\n[node.a]\\ndisk = \"/d\" | handlers.before-lunch: unknown key; allowed here: after-demote, after-promote, after-resync-source, after-resync-target, after-verify, before-demote, before-promote, before-resync-source, before-resync-target, before-timeout, fence-peer, local-io-error, mount-attach, mount-detach, mount-device, mount-fstype, mount-options, mount-point, out-of-sync, split-brain, unfence-peer",
        "empty handler         | [handlers]\\nafter-promote = \"  \"\\n[node.a]\\ndisk = \"/d\" | handlers.after-promote: empty",
        "net not a table       | net = 1\\n[node.a]\\ndisk = \"/d\" | net: must be a table",
        "bad node name         | [node.\"-x\"]\\ndisk = \"/d\" | node.-x: node name not allowed",
        "not toml              | [node.a\\ndisk = | not valid TOML at line",
        "stonith needs handler | [disk]\\nfencing = \"resource-and-stonith\"\\n[node.a]\\ndisk = \"/d\" | disk.fencing: \"resource-and-stonith\" holds writes until the fence-peer handler answers; set handlers.fence-peer",
        "bad on-congestion     | protocol = \"A\"\\n[net]\\non-congestion = \"disconnect\"\\n[node.a]\\ndisk = \"/d\" | net.on-congestion: \"disconnect\" is not one of block, pull-ahead",
        "pull-ahead with C     | protocol = \"C\"\\n[net]\\non-congestion = \"pull-ahead\"\\n[node.a]\\ndisk = \"/d\" | net.on-congestion: \"pull-ahead\" needs protocol A; with protocol \"C\" a write is acknowledged only once the peer has it on disk, which a write pulled ahead never is, so only \"block\" is allowed",
        "pull-ahead with B     | protocol = \"B\"\\n[net]\\non-congestion = \"pull-ahead\"\\n[node.a]\\ndisk = \"/d\" | net.on-congestion: \"pull-ahead\" needs protocol A; with protocol \"B\" a write is acknowledged only once the peer has received it",
        "pull-ahead, default C | [net]\\non-congestion = \"pull-ahead\"\\n[node.a]\\ndisk = \"/d\" | net.on-congestion: \"pull-ahead\" needs protocol A",
        "fill without it       | protocol = \"A\"\\n[net]\\ncongestion-fill = \"8M\"\\n[node.a]\\ndisk = \"/d\" | net.congestion-fill: applies only with on-congestion = \"pull-ahead\"",
        "bad verify-alg        | [net]\\nverify-alg = \"md5\"\\n[node.a]\\ndisk = \"/d\" | net.verify-alg: \"md5\" is not one of crc32c, sha256",
        "bad fill              | protocol = \"A\"\\n[net]\\non-congestion = \"pull-ahead\"\\ncongestion-fill = \"lots\"\\n[node.a]\\ndisk = \"/d\" | net.congestion-fill: \"lots\" is not a size",
        "fill too small        | protocol = \"A\"\\n[net]\\non-congestion = \"pull-ahead\"\\ncongestion-fill = \"64K\"\\n[node.a]\\ndisk = \"/d\" | net.congestion-fill: \"64K\" is out of range; allowed 1M to 1G",
        "fill too large        | protocol = \"A\"\\n[net]\\non-congestion = \"pull-ahead\"\\ncongestion-fill = \"2G\"\\n[node.a]\\ndisk = \"/d\" | net.congestion-fill: \"2G\" is out of range; allowed 1M to 1G",
        "floor over ceiling    | [disk]\\nresync-rate-max = \"10M\"\\nresync-rate-min = \"20M\"\\n[node.a]\\ndisk = \"/d\" | disk.resync-rate-min: \"20M\" is above resync-rate-max (10M/s); the floor must not exceed the ceiling",
        "default floor, low max| [disk]\\nresync-rate-max = \"1M\"\\nresync-rate-min = \"2M/s\"\\n[node.a]\\ndisk = \"/d\" | disk.resync-rate-min: \"2M/s\" is above resync-rate-max (1M/s)",
        "bad rate              | [disk]\\nresync-rate-max = \"fast\"\\n[node.a]\\ndisk = \"/d\" | disk.resync-rate-max: \"fast\" is not a rate from 4K to 64G bytes per second, such as \"100M\"",
        "zero floor            | [disk]\\nresync-rate-min = \"0\"\\n[node.a]\\ndisk = \"/d\" | disk.resync-rate-min: \"0\" is not a rate from 4K",
        "bad plan-ahead        | [disk]\\nc-plan-ahead = \"20\"\\n[node.a]\\ndisk = \"/d\" | disk.c-plan-ahead: \"20\" is not \"0\" (the controller off, a fixed resync-rate) or a duration from 100ms to 60s",
        "plan-ahead too short  | [disk]\\nc-plan-ahead = \"50ms\"\\n[node.a]\\ndisk = \"/d\" | disk.c-plan-ahead: \"50ms\" is not \"0\"",
        "fill target too small | [disk]\\nc-fill-target = \"4K\"\\n[node.a]\\ndisk = \"/d\" | disk.c-fill-target: \"4K\" is not a size from 64K to 1G in whole 4K blocks",
        "fixed rate, controller| [disk]\\nresync-rate = \"10M\"\\n[node.a]\\ndisk = \"/d\" | disk.resync-rate: applies only with c-plan-ahead = \"0\" (the controller off)",
        "fixed rate over max   | [disk]\\nc-plan-ahead = \"0\"\\nresync-rate = \"10M\"\\nresync-rate-max = \"8M\"\\n[node.a]\\ndisk = \"/d\" | disk.resync-rate: \"10M\" is outside resync-rate-min (4M/s) to resync-rate-max (8M/s)",
        "DRBD's c-max-rate     | [disk]\\nc-max-rate = \"10M\"\\n[node.a]\\ndisk = \"/d\" | disk.c-max-rate: not supported: the resync's ceiling is called resync-rate-max here",
        "DRBD's c-delay-target | [disk]\\nc-delay-target = \"1s\"\\n[node.a]\\ndisk = \"/d\" | disk.c-delay-target: not supported: the controller steers by the bytes in flight",
    })
    void everyMistakeNamesTheKeyAndWhatIsAllowed(String what, String toml, String expected) throws Exception {
        String m = error(toml.replace("\\n", "\n"));
        assertTrue(m.contains(expected), what + ": expected \"" + expected + "\" in: " + m);
    }

    @Test
    void theHandlerNamesAreExactlyTheEventsTheCoreFires() throws Exception {
        java.util.Set<String> fired = new java.util.TreeSet<>();
        for (Hook h : Hook.values()) {
            fired.add(h.configName());
        }
        assertEquals(fired, new java.util.TreeSet<>(ConfigLoader.HANDLERS));
        for (String name : fired) {
            ResourceConfig c = loader.load(write("r0", "[handlers]\n" + name + " = \"/bin/true\"\n[node.a]\ndisk = \"/d\"\n"));
            assertEquals("/bin/true", c.handlers().get(name), name);
        }
    }

    @Test
    void roleHandlersAndTheBuiltInMountParseAndNonsenseIsRefused() throws Exception {
        String handlers = String.join("\n", "[handlers]", "before-promote = \"/usr/local/sbin/may-promote\"",
                "before-demote = \"/usr/local/sbin/may-demote\"", "before-timeout = \"30s\"",
                "mount-device = \"/dev/nbd0\"", "mount-point = \"/srv/data\"", "mount-fstype = \"ext4\"",
                "mount-options = \"noatime,nodiratime\"", "mount-attach = \"nbd-client -N r0 -unix /run/repl/r0.nbd /dev/nbd0\"",
                "mount-detach = \"nbd-client -d /dev/nbd0\"", "");
        ResourceConfig c = loader.load(write("r0", PAIR.replace("[handlers]\n", handlers)));
        assertEquals("/usr/local/sbin/may-promote", c.handlers().get("before-promote"));
        assertEquals("/usr/local/sbin/may-demote", c.handlers().get("before-demote"));
        assertEquals(java.time.Duration.ofSeconds(30), c.roleActions().beforeTimeout());
        ResourceConfig.Mount m = c.roleActions().mount().orElseThrow();
        assertEquals(new ResourceConfig.Mount(Path.of("/dev/nbd0"), Path.of("/srv/data"), "ext4", "noatime,nodiratime",
                "nbd-client -N r0 -unix /run/repl/r0.nbd /dev/nbd0", "nbd-client -d /dev/nbd0"), m);
        assertFalse(c.handlers().containsKey("mount-device"), "settings are not handlers");
        ResourceConfig plain = loader.load(write("r0", PAIR));
        assertEquals(java.time.Duration.ofSeconds(60), plain.roleActions().beforeTimeout());
        assertTrue(plain.roleActions().mount().isEmpty());

        String[][] refused = {
            {"[handlers]\nmount-device = \"/dev/nbd0\"\n", "handlers.mount-point: missing"},
            {"[handlers]\nmount-point = \"/srv\"\n", "handlers.mount-device: missing"},
            {"[handlers]\nmount-device = \"nbd0\"\nmount-point = \"/srv\"\n", "\"nbd0\" is not an absolute path"},
            {"[handlers]\nmount-fstype = \"ext4\"\n", "handlers.mount-fstype: only with handlers.mount-device"},
            {"[handlers]\nmount-detach = \"x\"\n", "handlers.mount-detach: only with handlers.mount-device"},
            {"[handlers]\nbefore-timeout = \"500ms\"\n", "handlers.before-timeout: \"500ms\" is not a duration from 1s"},
            {"[handlers]\nmount-device = \"/dev/nbd0\"\nmount-point = \"/srv\"\nmount-options = \"a b\"\n",
                "handlers.mount-options"},
        };
        for (String[] r : refused) {
            String m2 = error(PAIR.replace("[handlers]\n", r[0]));
            assertTrue(m2.contains(r[1]), r[0] + " -> " + m2);
        }
        String standalone = error("[handlers]\nbefore-promote = \"/bin/true\"\n[node.a]\ndisk = \"/d\"\n");
        assertTrue(standalone.contains("handlers.before-promote: a standalone resource"), standalone);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "resync-done    | use after-resync-target              | after-resync-source",
    })
    void drbdHandlerNamesWithoutAnEventAreRefusedWithWhy(String name, String why, String alternative)
            throws Exception {
        String m = error("[handlers]\n" + name + " = \"/bin/true\"\n[node.a]\ndisk = \"/d\"\n");
        assertTrue(m.contains("handlers." + name + ": not supported: "), m);
        assertTrue(m.contains(why), m);
        assertTrue(m.contains(alternative), m);
        assertTrue(m.contains("allowed here: after-demote, after-promote"), m);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "outdate              | outdate              | OUTDATE",
        "resource-only        | resource-only        | OUTDATE",
        "resource-and-stonith | resource-and-stonith | RESOURCE_AND_STONITH",
        "dont-care            | dont-care            | DONT_CARE",
    })
    void everyFencingSpellingMapsToTheCorePolicy(String what, String spelled, FailoverPolicy.Fencing expected)
            throws Exception {
        String toml = PAIR.replace("fencing = \"resource-only\"", "fencing = \"" + spelled + "\"")
                .replace("[handlers]\n", "[handlers]\nfence-peer = \"/usr/local/sbin/fence-peer\"\n");
        assertEquals(expected, loader.load(write("r0", toml)).disk().fencing(), what);
    }

    /** PAIR with {@code [witness]} lines and the fencing line replaced by {@code fencing}. */
    private static String pairWithWitness(String fencing, String witnessLines) {
        return PAIR.replace("fencing = \"resource-only\"\n", fencing.isEmpty() ? "" : "fencing = \"" + fencing + "\"\n")
                + "[witness]\n" + witnessLines;
    }

    @Test
    void aWitnessSectionGivesTheAddressAndHoldsWritesWithoutQuorumByDefault() throws Exception {
        ResourceConfig c = loader.load(write("r0", pairWithWitness("", "address = \"10.0.0.3:7790\"\n")));
        ResourceConfig.Witness w = c.witness().orElseThrow();
        assertEquals(new HostPort("10.0.0.3", 7790), w.address());
        assertEquals(FailoverPolicy.OnNoQuorum.SUSPEND_IO, w.onNoQuorum());
        assertEquals(FailoverPolicy.Fencing.OUTDATE, c.disk().fencing());

        c = loader.load(write("r0", pairWithWitness("resource-only",
                "address = \"witness.example:7790\"\non-no-quorum = \"io-error\"\n")));
        assertEquals(FailoverPolicy.OnNoQuorum.IO_ERROR, c.witness().orElseThrow().onNoQuorum());
        assertEquals(new HostPort("witness.example", 7790), c.witness().orElseThrow().address());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "no address            | outdate              | on-no-quorum = \"io-error\"   | witness.address: missing",
        "bad address           | outdate              | address = \"w\"               | witness.address: \"w\" is not HOST:PORT with a port 1-65535",
        "address of a node     | outdate              | address = \"10.0.0.1:7789\"   | witness.address: is node.alpha.address as well",
        "unknown key           | outdate              | address = \"w:1\"\\nquorum = 2 | witness.quorum: unknown key; allowed here: address, on-no-quorum",
        "bad on-no-quorum      | outdate              | address = \"w:1\"\\non-no-quorum = \"panic\" | witness.on-no-quorum: \"panic\" is not one of suspend-io, io-error",
        "with dont-care        | dont-care            | address = \"w:1\"             | disk.fencing: \"dont-care\" cannot be combined with [witness]: the witness is the fencing",
        "with stonith          | resource-and-stonith | address = \"w:1\"             | disk.fencing: \"resource-and-stonith\" cannot be combined with [witness]: the witness is the fencing",
    })
    void witnessMistakesNameTheKeyAndWhatIsAllowed(String what, String fencing, String lines, String expected)
            throws Exception {
        String m = error(pairWithWitness(fencing, lines.replace("\\n", "\n") + "\n"));
        assertTrue(m.contains(expected), what + ": expected \"" + expected + "\" in: " + m);
    }

    @Test
    void aStandaloneResourceCannotHaveAWitness() throws Exception {
        String m = error("[witness]\naddress = \"w:1\"\n[node.a]\ndisk = \"/d\"\n");
        assertTrue(m.contains("witness: a standalone resource (one [node] section)"), m);
        assertTrue(m.contains("needs two nodes") || m.contains("decides between two nodes"), m);
        m = error("witness = \"w:1\"\n[node.a]\ndisk = \"/d\"\n");
        assertTrue(m.contains("witness: must be a table ([witness])"), m);
    }

    @Test
    void withAWitnessNoNodeMayBeCalledWitness() throws Exception {
        String m = error(PAIR.replace("[node.beta]", "[node.witness]") + "[witness]\naddress = \"w:1\"\n");
        assertTrue(m.contains("node.witness: \"witness\" is the witness's own name"), m);
    }

    @Test
    void resourceAndStonithWithAFencePeerHandlerIsAccepted() throws Exception {
        ResourceConfig c = loader.load(write("r0", "[disk]\nfencing = \"resource-and-stonith\"\n"
                + "[handlers]\nfence-peer = \"/usr/local/sbin/stonith-peer\"\n[node.a]\ndisk = \"/d\"\n"));
        assertEquals(FailoverPolicy.Fencing.RESOURCE_AND_STONITH, c.disk().fencing());
        assertEquals("/usr/local/sbin/stonith-peer", c.handlers().get("fence-peer"));
    }

    @Test
    void resourceNameComesFromTheFileAndIsChecked() throws Exception {
        Path f = write("bad name", "[node.a]\ndisk = \"/d\"\n");
        ConfigException e = assertThrows(ConfigException.class, () -> loader.load(f));
        assertTrue(e.getMessage().contains("resource name \"bad name\" is not allowed"), e.getMessage());
    }

    @Test
    void aDirectoryLoadsTheGoodFilesAndReportsTheBadOnes() throws Exception {
        write("good", "[node.a]\ndisk = \"/d1\"\n");
        write("bad", "protocol = \"Z\"\n[node.a]\ndisk = \"/d2\"\n");
        Files.writeString(dir.resolve("notes.txt"), "ignored");
        ConfigLoader.Directory d = loader.loadDirectory(dir);
        assertEquals(1, d.resources().size());
        assertTrue(d.resources().containsKey("good"));
        assertTrue(d.errors().get("bad").contains("protocol"), d.errors().toString());
        ConfigException e = assertThrows(ConfigException.class, () -> loader.loadDirectory(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("not a directory"));
    }
}
