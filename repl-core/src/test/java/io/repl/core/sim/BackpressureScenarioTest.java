package io.repl.core.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.ConnectionState;
import io.repl.core.replication.ReplicationProtocol;
import io.repl.protocol.MessageType;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A link slower than the disk: the peer stops taking what the Primary sends, its send queue
 * crosses the high water mark, and the core admits no new write until the queue drains. Under
 * protocol A this is the only thing that holds the front end back, since a write is acknowledged
 * as soon as its DATA is handed over.
 */
class BackpressureScenarioTest {
    private static final long MS = Simulation.MS;
    private static final int ALPHA = 0;
    private static final int BETA = 1;
    private static final long HIGH_BYTES = 32 << 10;
    private static final int WRITES = 40;

    @ParameterizedTest
    @EnumSource(ReplicationProtocol.class)
    void aCongestedLinkAdmitsNoWriteBeyondItsBoundAndAllCompleteOnceItDrains(ReplicationProtocol protocol) {
        Simulation sim = new Simulation(11, Simulation.Options.of(protocol));
        sim.bootInSyncWithPrimary(ALPHA);
        sim.network().congestAbove(HIGH_BYTES);

        // Beta stops reading: everything alpha sends stays in alpha's queue. Shorter than the
        // ping interval, so the connection survives it.
        sim.network().hold(BETA, true);
        long dataBefore = sim.network().count(MessageType.DATA);
        List<Long> writes = sim.writeOneBlockEach(ALPHA, WRITES, MS / 2);
        long sent = sim.network().count(MessageType.DATA) - dataBefore;
        long oneWrite = SimNetwork.wireBytes(io.repl.protocol.DataWrite.of(1, 0, java.nio.ByteBuffer.allocate(4096), 0));
        // The write that crossed the mark went out before the core heard of it; after that
        // none. Small frames (barriers, pings) still go out and count as well.
        long bound = HIGH_BYTES + oneWrite + 16 * 64;
        assertTrue(sim.network().bytesFromMax(ALPHA) <= bound, "alpha queued " + sim.network().bytesFromMax(ALPHA)
                + " bytes for beta; at most " + bound);
        assertTrue(sent * oneWrite <= bound, sent + " DATA sent while beta took none");
        assertTrue(sent < WRITES, "the link's bound held some writes back");
        long completed = writes.stream().filter(id -> sim.completion(id) != null).count();
        assertTrue(completed <= sent, completed + " writes acknowledged, but only " + sent + " were admitted");
        assertEquals(ConnectionState.CONNECTED, sim.node(ALPHA).status().connection(), "the connection survived");

        sim.network().hold(BETA, false);
        for (long id : writes) {
            sim.waitFor(() -> sim.completion(id) != null, 2000 * MS, "write " + id);
            assertEquals(0, sim.completion(id), "write " + id + " succeeded once the link drained");
        }
        sim.awaitInSync();
        sim.heal();
        for (int block = 0; block < WRITES; block++) {
            assertEquals(sim.valueOn(ALPHA, block), sim.valueOn(BETA, block), "block " + block);
        }
    }
}
