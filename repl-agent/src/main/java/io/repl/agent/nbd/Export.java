package io.repl.agent.nbd;

import io.repl.agent.volume.Volume;

/**
 * What one NBD server serves: a resource, which decides at each client's handshake whether
 * the client may open it and how (read-write on a Primary, read-only on an UpToDate
 * Secondary, refused otherwise). A read-only grant holds only while that disk stays UpToDate:
 * its volume answers reads with EIO once the disk has left UpToDate.
 */
public interface Export {
    /** The export name clients ask for; the empty name means this export too. */
    String name();

    /** Decides for a client that asks to open the export now. */
    Grant open();

    /** Called on the client's event loop when a session enters transmission. */
    void sessionOpened(NbdSession session);

    /** Called when a session ends, however it ends. */
    void sessionClosed(NbdSession session);

    /** Where the export's sessions count their requests; by default counts kept by nobody. */
    default NbdCounters counters() {
        return new NbdCounters();
    }

    /** The answer to a client asking to open the export. */
    record Grant(Volume volume, boolean readOnly, String refusal) {
        public static Grant readWrite(Volume v) {
            return new Grant(v, false, null);
        }

        public static Grant readOnly(Volume v) {
            return new Grant(v, true, null);
        }

        public static Grant refused(String reason) {
            return new Grant(null, true, reason);
        }

        public boolean granted() {
            return volume != null;
        }
    }
}
