package io.repl.agent.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WriteGateTest {
    private final WriteGate gate = new WriteGate();
    private final List<String> started = new ArrayList<>();

    private WriteGate.Claim claim(String name, long first, long last, boolean exclusive) {
        return new WriteGate.Claim(first, last, exclusive, () -> started.add(name));
    }

    @Test
    void plainWritesNeverWaitForEachOther() {
        gate.enter(claim("a", 0, 10, false));
        gate.enter(claim("b", 5, 6, false));
        assertEquals(List.of("a", "b"), started);
    }

    @Test
    void readModifyWriteWaitsForOverlappingWritesAndBlocksLaterOnes() {
        WriteGate.Claim a = claim("a", 0, 3, false);
        gate.enter(a);
        WriteGate.Claim rmw = claim("rmw", 3, 3, true);
        gate.enter(rmw);
        WriteGate.Claim b = claim("b", 3, 4, false);
        gate.enter(b);
        WriteGate.Claim c = claim("c", 9, 9, false);
        gate.enter(c);
        assertEquals(List.of("a", "c"), started, "rmw waits for a; b waits behind rmw; c is elsewhere");
        gate.leave(a);
        assertEquals(List.of("a", "c", "rmw"), started);
        gate.leave(rmw);
        assertEquals(List.of("a", "c", "rmw", "b"), started);
        gate.leave(b);
        gate.leave(c);
        assertEquals(0, gate.waitingCount());
    }

    @Test
    void leavingTwiceIsAProgrammerError() {
        WriteGate.Claim a = claim("a", 0, 0, false);
        gate.enter(a);
        gate.leave(a);
        assertThrows(IllegalStateException.class, () -> gate.leave(a));
    }
}
