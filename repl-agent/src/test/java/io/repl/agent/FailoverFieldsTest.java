package io.repl.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.repl.agent.config.ConfigLoader;
import io.repl.agent.config.ResourceConfig;
import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.FailoverStatus;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The failover fields of status --json, from the core's snapshot and the resource file. */
class FailoverFieldsTest {
    private static final String PAIR = String.join("\n",
            "[net]", "shared-secret = \"s\"",
            "[node.beta]", "address = \"10.0.0.2:7789\"", "disk = \"/dev/sdb\"",
            "[node.alpha]", "address = \"10.0.0.1:7789\"", "disk = \"/dev/sdb\"", "");
    /** 12:51:50 UTC on the day of the test, at nanoTime 1000 s. */
    private static final FailoverFields.Clocks CLOCKS = new FailoverFields.Clocks(1_000_000_000_000L,
            Instant.parse("2026-12-01T12:51:50Z"), ZoneOffset.UTC);
    private static final long SECOND = 1_000_000_000L;

    @TempDir
    Path dir;

    private ResourceConfig load(String toml) throws Exception {
        return new ConfigLoader().load(Files.writeString(dir.resolve("r0.toml"), toml));
    }

    private static CoreStatus status(ConnectionState connection, FailoverStatus f) {
        return new CoreStatus(Role.SECONDARY, DiskState.CONSISTENT, connection, ReplicationState.OFF, "alpha", null, null,
                0, null, f, null);
    }

    @SuppressWarnings("unchecked")
    @Test
    void aSecondaryThatLostItsPeerShowsTheReasonOnTheWallClock() throws Exception {
        FailoverStatus f = new FailoverStatus(FailoverPolicy.Fencing.OUTDATE,
                "lost alpha (ping timeout) without a goodbye", CLOCKS.nowNanos() - 14 * SECOND, null, 0, false, null, false);
        Map<String, Object> m = new LinkedHashMap<>();
        FailoverFields.addTo(m, load(PAIR), status(ConnectionState.CONNECTING, f), CLOCKS);
        assertEquals("outdate", m.get("fencing"));
        assertEquals("lost alpha (ping timeout) without a goodbye, at 12:51:36", m.get("diskReason"));
        assertNull(m.get("suspended"));
        assertEquals(false, m.get("mayLoseWrites"));
        Map<String, Object> quorum = (Map<String, Object>) m.get("quorum");
        assertEquals(false, quorum.get("peer"));
        assertNull(quorum.get("witness"));
    }

    @SuppressWarnings("unchecked")
    @Test
    void heldWritesAndTheWitnessRecordAreShownWithNodeNamesAndHexGeneration() throws Exception {
        ResourceConfig c = load(PAIR + "[witness]\naddress = \"10.0.0.3:7790\"\n");
        FailoverStatus.WitnessView view = new FailoverStatus.WitnessView(true, "outdate-peer granted",
                0x0123456789ABCDEFL, 0b10, false);
        FailoverStatus f = new FailoverStatus(FailoverPolicy.Fencing.OUTDATE, null, 0,
                "lost beta (connection reset); asking the witness", CLOCKS.nowNanos() - 10 * SECOND, false, view, false);
        Map<String, Object> m = new LinkedHashMap<>();
        FailoverFields.addTo(m, c, status(ConnectionState.CONNECTED, f), CLOCKS);
        Map<String, Object> suspended = (Map<String, Object>) m.get("suspended");
        assertEquals("lost beta (connection reset); asking the witness", suspended.get("reason"));
        assertEquals("2026-12-01T12:51:40", suspended.get("since"));
        Map<String, Object> quorum = (Map<String, Object>) m.get("quorum");
        assertEquals(true, quorum.get("peer"));
        Map<String, Object> w = (Map<String, Object>) quorum.get("witness");
        assertEquals("10.0.0.3:7790", w.get("address"));
        assertEquals(true, w.get("reachable"));
        assertEquals("outdate-peer granted", w.get("lastAnswer"));
        assertEquals("0123456789ABCDEF", w.get("generation"));
        assertEquals(List.of("beta"), w.get("holders"), "node id 1 is beta: the second of the sorted names");
        assertEquals(false, w.get("forced"));
        assertNull(m.get("diskReason"));
    }

    @SuppressWarnings("unchecked")
    @Test
    void aDownResourceShowsTheConfiguredPolicyAndAnUnreachableWitness() throws Exception {
        ResourceConfig c = load(PAIR + "[witness]\naddress = \"w:1\"\n");
        Map<String, Object> m = new LinkedHashMap<>();
        FailoverFields.addTo(m, c, null, CLOCKS);
        assertEquals("outdate", m.get("fencing"));
        Map<String, Object> w = (Map<String, Object>) ((Map<String, Object>) m.get("quorum")).get("witness");
        assertEquals(false, w.get("reachable"));
        assertNull(w.get("generation"));
        assertEquals(List.of(), w.get("holders"));
        assertNull(m.get("diskReason"));
        assertEquals(false, m.get("mayLoseWrites"));
    }

    @Test
    void resourceOnlyIsShownAsOutdateAndAStandaloneHasNoQuorum() throws Exception {
        Map<String, Object> m = new LinkedHashMap<>();
        FailoverFields.addTo(m, load("[disk]\nfencing = \"resource-only\"\n[node.a]\ndisk = \"/d\"\n"), null, CLOCKS);
        assertEquals("outdate", m.get("fencing"));
        assertNull(m.get("quorum"));
    }

    @Test
    void aStampFromAnotherDayCarriesTheDate() {
        assertEquals("2026-11-30 12:51:50", CLOCKS.spoken(CLOCKS.nowNanos() - 24 * 3600 * SECOND));
        assertEquals("12:51:49", CLOCKS.spoken(CLOCKS.nowNanos() - SECOND));
    }

    @Test
    void holderBitsMapToSortedNodeNames() throws Exception {
        ResourceConfig c = load(PAIR);
        assertEquals(List.of("alpha", "beta"), FailoverFields.holders(c, 0b11));
        assertEquals(List.of("alpha"), FailoverFields.holders(c, 0b01));
        assertEquals(List.of(), FailoverFields.holders(c, 0));
    }
}
