package io.repl.core.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import org.junit.jupiter.api.Test;

/**
 * The controller's arithmetic against a modelled pipe (a FIFO server of a given bandwidth and
 * a fixed base latency), on a clock the test advances: no threads, no sleeps.
 */
class RateControllerTest {
    private static final long MS = 1_000_000L;
    private static final long TICK = 100 * MS;
    private static final long MIB = 1L << 20;

    /** Requests of up to 1 MiB, served in order at {@code bytesPerSecond} after {@code baseNanos}. */
    private static final class Pipe {
        final RateController pacer;
        final long bytesPerSecond;
        final long baseNanos;
        final ArrayDeque<long[]> inFlight = new ArrayDeque<>();
        long busyUntil;
        long now;
        long answered;
        long inFlightPeak;

        Pipe(RateControl config, long bytesPerSecond, long baseNanos) {
            this.pacer = new RateController(config, TICK);
            this.bytesPerSecond = bytesPerSecond;
            this.baseNanos = baseNanos;
            pacer.start(0);
        }

        /** Runs for {@code nanos} in 1 ms steps; {@code writeEveryNanos} > 0 adds application writes. */
        void run(long nanos, long writeEveryNanos) {
            long end = now + nanos;
            while (now < end) {
                now += MS;
                while (!inFlight.isEmpty() && inFlight.peekFirst()[0] <= now) {
                    long bytes = inFlight.pollFirst()[1];
                    pacer.onAnswered(bytes, now);
                    answered += bytes;
                }
                if (writeEveryNanos > 0 && now % writeEveryNanos == 0) {
                    pacer.onApplicationWrite(4096, now);
                }
                if (now % TICK == 0) {
                    pacer.onTick(now);
                }
                send();
            }
        }

        private void send() {
            while (true) {
                long bytes = Math.min(MIB, pacer.budgetBytes(now) / 4096 * 4096);
                if (bytes == 0) {
                    return;
                }
                pacer.onSent(bytes, now);
                long start = Math.max(now, busyUntil);
                busyUntil = start + bytes * 1_000_000_000L / bytesPerSecond;
                inFlight.addLast(new long[] {busyUntil + baseNanos, bytes});
                inFlightPeak = Math.max(inFlightPeak, pacer.inFlightBytes());
            }
        }

        /** Bytes per second answered over the next {@code nanos}. */
        long measure(long nanos, long writeEveryNanos) {
            long before = answered;
            run(nanos, writeEveryNanos);
            return (answered - before) * 1_000_000_000L / nanos;
        }
    }

    private static RateControl control(long min, long max, long fill) {
        return new RateControl(min, max, 2000 * MS, fill, 0);
    }

    @Test
    void withoutApplicationWritesTheRateConvergesToTheCeiling() {
        Pipe pipe = new Pipe(control(4 * MIB, 64 * MIB, 8 * MIB), 1000 * MIB, MS);
        pipe.run(5000 * MS, 0);
        assertEquals(64 * MIB, pipe.pacer.rateBytesPerSecond());
        long measured = pipe.measure(2000 * MS, 0);
        assertTrue(Math.abs(measured - 64 * MIB) <= 64 * MIB / 20, "measured " + measured);
    }

    @Test
    void aSlowerPipeIsFilledToTheTargetAndNoFurther() {
        Pipe pipe = new Pipe(control(4 * MIB, 4096 * MIB, 8 * MIB), 100 * MIB, MS);
        pipe.run(5000 * MS, 0);
        long measured = pipe.measure(2000 * MS, 0);
        assertTrue(measured >= 95 * MIB, "the pipe's bandwidth is used: " + measured);
        assertTrue(pipe.inFlightPeak <= 8 * MIB, "peak in flight " + pipe.inFlightPeak);
        // The rate the controller steers to is near what keeps the fill target in flight: the pipe's.
        long rate = pipe.pacer.rateBytesPerSecond();
        assertTrue(rate >= 80 * MIB && rate <= 140 * MIB, "controller rate " + rate);
    }

    @Test
    void applicationWritesDropTheRateToTheFloorAndItClimbsBackWithinTheHorizon() {
        Pipe pipe = new Pipe(control(4 * MIB, 256 * MIB, 8 * MIB), 1000 * MIB, MS);
        pipe.run(3000 * MS, 0);
        assertEquals(256 * MIB, pipe.pacer.rateBytesPerSecond());
        pipe.run(10 * MS, 10 * MS);
        assertEquals(4 * MIB, pipe.pacer.rateBytesPerSecond(), "the first write drops the rate at once");
        assertTrue(pipe.pacer.yielding());
        pipe.run(1000 * MS, 10 * MS);
        long underWrites = pipe.measure(3000 * MS, 10 * MS);
        assertTrue(underWrites >= 4 * MIB * 9 / 10 && underWrites <= 4 * MIB * 11 / 10,
                "the floor while the application writes: " + underWrites);
        assertTrue(pipe.pacer.inFlightBytes() <= 1 * MIB, "little in flight at the floor: " + pipe.pacer.inFlightBytes());
        // The writes stop: after a few quiet steps the climb back is spread over the horizon.
        pipe.run(RateController.QUIET_STEPS * TICK - MS, 0);
        assertEquals(4 * MIB, pipe.pacer.rateBytesPerSecond(), "a pause between writes is no end of them");
        pipe.run(1000 * MS, 0);
        long halfway = pipe.pacer.rateBytesPerSecond();
        assertTrue(halfway > 4 * MIB && halfway < 256 * MIB, "halfway through the horizon: " + halfway);
        pipe.run(1200 * MS, 0);
        assertEquals(256 * MIB, pipe.pacer.rateBytesPerSecond());
        assertFalse(pipe.pacer.yielding());
    }

    @Test
    void theFloorHoldsUnderContinuousWritesSoTheSyncNeverStarves() {
        Pipe pipe = new Pipe(control(1 * MIB, 256 * MIB, 8 * MIB), 1000 * MIB, MS);
        long underWrites = pipe.measure(10_000 * MS, MS);
        assertTrue(underWrites >= 1 * MIB * 9 / 10, "the floor with a write every millisecond: " + underWrites);
    }

    @Test
    void withoutTheControllerTheFixedRateHoldsAndTheFloorStillApplies() {
        Pipe pipe = new Pipe(RateControl.fixed(32 * MIB, 2 * MIB, 4096 * MIB, 8 * MIB), 1000 * MIB, MS);
        pipe.run(500 * MS, 0);
        long fixed = pipe.measure(2000 * MS, 0);
        assertTrue(Math.abs(fixed - 32 * MIB) <= 32 * MIB / 20, "fixed " + fixed);
        pipe.run(500 * MS, 10 * MS);
        long underWrites = pipe.measure(2000 * MS, 10 * MS);
        assertTrue(underWrites >= 2 * MIB * 9 / 10 && underWrites <= 2 * MIB * 11 / 10, "floor " + underWrites);
    }

    @Test
    void neverMoreThanTheFillTargetInFlight() {
        RateController pacer = new RateController(control(4 * MIB, 4096 * MIB, 256 * 1024), TICK);
        pacer.start(0);
        assertEquals(256 * 1024, pacer.budgetBytes(0));
        pacer.onSent(200 * 1024, 0);
        assertEquals(56 * 1024, pacer.budgetBytes(0));
        assertThrows(IllegalStateException.class, () -> pacer.onSent(64 * 1024, 0));
    }

    @Test
    void aLowFloorStillSendsOneBlockAtATime() {
        RateController pacer = new RateController(control(4096, 4096, 8 * MIB), TICK);
        pacer.start(0);
        assertEquals(4096, pacer.budgetBytes(0), "one block at the start");
        pacer.onSent(4096, 0);
        pacer.onAnswered(4096, MS);
        assertTrue(pacer.budgetBytes(500 * MS) < 4096);
        assertEquals(4096, pacer.budgetBytes(1000 * MS));
    }

    @Test
    void badBoundsAreRefusedWithWhatIsWrong() {
        IllegalArgumentException below = assertThrows(IllegalArgumentException.class,
                () -> new RateControl(8 * MIB, 4 * MIB, 2000 * MS, 8 * MIB, 0));
        assertTrue(below.getMessage().contains("below the floor"), below.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new RateControl(0, 4 * MIB, 2000 * MS, 8 * MIB, 0));
        assertThrows(IllegalArgumentException.class, () -> new RateControl(MIB, 4 * MIB, 2000 * MS, 1000, 0));
        assertThrows(IllegalArgumentException.class, () -> new RateControl(MIB, 4 * MIB, -1, 8 * MIB, 0));
        IllegalArgumentException fixedWithController = assertThrows(IllegalArgumentException.class,
                () -> new RateControl(MIB, 4 * MIB, 2000 * MS, 8 * MIB, 2 * MIB));
        assertTrue(fixedWithController.getMessage().contains("controller off"), fixedWithController.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RateControl.fixed(8 * MIB, MIB, 4 * MIB, 8 * MIB));
        assertThrows(IllegalArgumentException.class, () -> RateControl.fixed(MIB / 2, MIB, 4 * MIB, 8 * MIB));
    }
}
