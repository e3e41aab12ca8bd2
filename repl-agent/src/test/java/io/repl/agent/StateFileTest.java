package io.repl.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.CoreStatus;
import io.repl.core.replication.FailoverPolicy;
import io.repl.core.replication.FailoverStatus;
import io.repl.core.replication.ReplicationState;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RUN_DIR/RES.state follows the core's states, and only its states. */
class StateFileTest {
    @TempDir
    Path dir;

    private static CoreStatus status(Role role, DiskState disk, ConnectionState c, ReplicationState r, Role peerRole,
                                     DiskState peerDisk, long oos, String held) {
        FailoverStatus f = new FailoverStatus(FailoverPolicy.Fencing.RESOURCE_AND_STONITH, null, 0, held, 0, false, null,
                false);
        return new CoreStatus(role, disk, c, r, "beta", peerRole, peerDisk, oos, null, f, null);
    }

    private Map<String, String> read(StateFile f) throws Exception {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(f.path())) {
            int eq = line.indexOf('=');
            m.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return m;
    }

    @Test
    void everyChangeOfStateReplacesTheFileAndCountersAloneDoNot() throws Exception {
        StateFile f = new StateFile(dir.resolve("run"), "r0");
        f.update(status(Role.SECONDARY, DiskState.CONSISTENT, ConnectionState.CONNECTING, ReplicationState.OFF, null,
                null, 4096, null));
        Map<String, String> m = read(f);
        assertEquals("r0", m.get("resource"));
        assertEquals("up", m.get("state"));
        assertEquals("Secondary", m.get("role"));
        assertEquals("Consistent", m.get("disk"));
        assertEquals("Unknown", m.get("peer-role"));
        assertEquals("DUnknown", m.get("peer-disk"));
        assertEquals("Connecting", m.get("connection"));
        assertEquals("Off", m.get("replication"));
        assertEquals("resource-and-stonith", m.get("fencing"));
        assertEquals("", m.get("suspended"));
        assertEquals("4096", m.get("out-of-sync-bytes"));
        assertEquals(Long.toString(ProcessHandle.current().pid()), m.get("pid"));
        assertEquals("1", m.get("generation"));

        f.update(status(Role.PRIMARY, DiskState.UP_TO_DATE, ConnectionState.CONNECTED, ReplicationState.SYNC_SOURCE,
                Role.SECONDARY, DiskState.INCONSISTENT, 4096, null));
        m = read(f);
        assertEquals("Primary", m.get("role"));
        assertEquals("UpToDate", m.get("disk"));
        assertEquals("Secondary", m.get("peer-role"));
        assertEquals("Inconsistent", m.get("peer-disk"));
        assertEquals("SyncSource", m.get("replication"));
        assertEquals("2", m.get("generation"));

        // The resync goes on: only the counter moves, the file stays as it is.
        f.update(status(Role.PRIMARY, DiskState.UP_TO_DATE, ConnectionState.CONNECTED, ReplicationState.SYNC_SOURCE,
                Role.SECONDARY, DiskState.INCONSISTENT, 0, null));
        assertEquals("2", read(f).get("generation"));
        assertEquals("4096", read(f).get("out-of-sync-bytes"));

        f.update(status(Role.PRIMARY, DiskState.UP_TO_DATE, ConnectionState.CONNECTING, ReplicationState.OFF, null, null,
                8192, "lost beta without a goodbye;\nwaiting for fence-peer"));
        m = read(f);
        assertEquals("lost beta without a goodbye; waiting for fence-peer", m.get("suspended"));
        assertEquals("3", m.get("generation"));
        assertEquals("8192", m.get("out-of-sync-bytes"));

        f.down("taken down (was role Primary, disk UpToDate)");
        m = read(f);
        assertEquals("down", m.get("state"));
        assertEquals("taken down (was role Primary, disk UpToDate)", m.get("reason"));
        assertEquals("Diskless", m.get("disk"));
        assertEquals("4", m.get("generation"));

        // The same states as before the down are a change again.
        f.update(status(Role.SECONDARY, DiskState.CONSISTENT, ConnectionState.CONNECTING, ReplicationState.OFF, null,
                null, 0, null));
        assertEquals("up", read(f).get("state"));
        assertEquals("5", read(f).get("generation"));
        try (Stream<Path> files = Files.list(dir.resolve("run"))) {
            assertEquals(1, files.count(), "only r0.state is left: the temporary file was renamed over it");
        }
    }

    @Test
    void withoutARunDirectoryNothingIsWritten() throws Exception {
        StateFile f = new StateFile(null, "r0");
        f.update(status(Role.SECONDARY, DiskState.CONSISTENT, ConnectionState.CONNECTING, ReplicationState.OFF, null,
                null, 0, null));
        f.down("x");
        assertEquals(null, f.path());
        try (Stream<Path> files = Files.list(dir)) {
            assertFalse(files.findAny().isPresent());
        }
    }

    @Test
    void aDirectoryThatCannotBeWrittenIsLoggedAndTheStatusGoesOn() throws Exception {
        Path notADir = Files.writeString(dir.resolve("file"), "x");
        StateFile f = new StateFile(notADir, "r0");
        f.update(status(Role.SECONDARY, DiskState.CONSISTENT, ConnectionState.CONNECTING, ReplicationState.OFF, null,
                null, 0, null));
        assertTrue(Files.isRegularFile(notADir));
    }
}
