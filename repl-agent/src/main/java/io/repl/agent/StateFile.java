package io.repl.agent;

import io.repl.agent.config.ConfigLoader;
import io.repl.core.replication.CoreStatus;
import io.repl.protocol.DiskState;
import io.repl.protocol.Role;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Objects;

/**
 * {@code RUN_DIR/RES.state}: the resource's states as {@code key=value} lines, replaced
 * atomically (a temporary file renamed over it) whenever the role, a disk, the connection, the
 * replication state or held writes change, and marked {@code state=down} with the reason when
 * the resource goes down. What reads it (the OCF resource agent's {@code monitor}) needs no
 * JVM and no control socket; {@code pid} tells it whether the writer still runs.
 *
 * <p>Keys: {@code resource}, {@code state} ({@code up} or {@code down}), {@code reason} (when
 * down), {@code role}, {@code disk}, {@code peer-role}, {@code peer-disk}, {@code connection},
 * {@code replication}, {@code fencing}, {@code suspended} (why writes are held, empty when
 * they are not), {@code out-of-sync-bytes} (at the last change of state), {@code pid},
 * {@code generation} (grows with every write of the file) and {@code updated} (UTC).
 *
 * <p>A write that fails is logged once per failure streak and never reaches the data path.
 */
final class StateFile {
    private static final System.Logger LOG = System.getLogger(StateFile.class.getName());

    private final Path file;
    private final String resource;
    private final long pid = ProcessHandle.current().pid();
    private long generation;
    private CoreStatus last;
    private boolean failing;

    /** {@code dir} null: nothing is written. */
    StateFile(Path dir, String resource) {
        this.file = dir == null ? null : dir.resolve(resource + ".state");
        this.resource = resource;
    }

    Path path() {
        return file;
    }

    /** The core published a status: written when a state (not only a counter) differs from the last. */
    synchronized void update(CoreStatus s) {
        if (file == null || sameStates(last, s)) {
            return;
        }
        last = s;
        String fencing = s.failover() == null ? "" : ConfigLoader.spelling(s.failover().fencing());
        String held = s.failover() == null ? null : s.failover().heldReason();
        write("state=up\n"
                + "role=" + s.role().displayName() + "\n"
                + "disk=" + s.disk().displayName() + "\n"
                + "peer-role=" + (s.peerRole() == null ? "Unknown" : s.peerRole().displayName()) + "\n"
                + "peer-disk=" + (s.peerDisk() == null ? "DUnknown" : s.peerDisk().displayName()) + "\n"
                + "connection=" + s.connection().displayName() + "\n"
                + "replication=" + s.replication().displayName() + "\n"
                + "fencing=" + fencing + "\n"
                + "suspended=" + oneLine(held) + "\n"
                + "out-of-sync-bytes=" + s.outOfSyncBytes() + "\n");
    }

    /** A resource without a peer came up: always Primary and UpToDate. */
    synchronized void standalone() {
        if (file == null) {
            return;
        }
        last = null;
        write("state=up\nrole=" + Role.PRIMARY.displayName() + "\ndisk=" + DiskState.UP_TO_DATE.displayName()
                + "\npeer-role=\npeer-disk=\nconnection=StandAlone\nreplication=Off\nfencing=\nsuspended=\n"
                + "out-of-sync-bytes=0\n");
    }

    /** The resource is down (or could not come up), for {@code reason}. */
    synchronized void down(String reason) {
        if (file == null) {
            return;
        }
        last = null;
        write("state=down\nreason=" + oneLine(reason) + "\nrole=Secondary\ndisk=Diskless\npeer-role=Unknown\n"
                + "peer-disk=DUnknown\nconnection=StandAlone\nreplication=Off\nfencing=\nsuspended=\n"
                + "out-of-sync-bytes=0\n");
    }

    private void write(String body) {
        generation++;
        String text = "resource=" + resource + "\n" + body + "pid=" + pid + "\ngeneration=" + generation
                + "\nupdated=" + Instant.now() + "\n";
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            if (failing) {
                failing = false;
                LOG.log(System.Logger.Level.INFO, resource + ": " + file + " is written again");
            }
        } catch (IOException | RuntimeException e) {
            if (!failing) {
                failing = true;
                LOG.log(System.Logger.Level.WARNING, resource + ": cannot write " + file + " (the OCF resource "
                        + "agent's monitor reads it): " + e);
            }
        }
    }

    private static boolean sameStates(CoreStatus a, CoreStatus b) {
        return a != null && a.role() == b.role() && a.disk() == b.disk() && a.connection() == b.connection()
                && a.replication() == b.replication() && a.peerRole() == b.peerRole() && a.peerDisk() == b.peerDisk()
                && Objects.equals(held(a), held(b));
    }

    private static String held(CoreStatus s) {
        return s.failover() == null ? null : s.failover().heldReason();
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ').replace('\r', ' ');
    }
}
