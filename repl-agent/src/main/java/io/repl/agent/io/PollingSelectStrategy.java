package io.repl.agent.io;

import io.netty.channel.SelectStrategy;
import io.netty.channel.SelectStrategyFactory;
import io.netty.util.IntSupplier;
import java.util.Arrays;
import java.util.function.BooleanSupplier;

/**
 * Lets an event loop poll for a short while before it sleeps, when its engines have I/O in
 * flight (off by default, see {@link #POLL_MICROS_DEFAULT}). A completion then finds the loop
 * awake: on a virtual machine an idle vCPU halts, and waking it for every completion
 * interrupt can cost more than the disk's own latency, where the machine has cores to spare.
 * With nothing in flight the loop sleeps at once, so an idle agent uses no CPU.
 *
 * <p>Polling costs system calls: each look at the loop's descriptors is an {@code epoll_wait}
 * that returns at once, and on a virtual machine a system call costs microseconds. So the
 * loop looks at its descriptors only every {@value #SELECT_EVERY_MICROS_DEFAULT} µs while it
 * polls, and in between watches, in memory, the completion queues of the engines it drives
 * (an io_uring's CQ tail): a completion there is taken at once.
 */
public final class PollingSelectStrategy implements SelectStrategy {
    /** JVM property with the poll budget in microseconds; 0 turns polling off. */
    public static final String POLL_PROPERTY = "repl.poll-us";
    /**
     * Off. Polling only pays where a core would otherwise idle: on a small machine the
     * agents, their peer and the clients share the cores, and a loop that spins takes the CPU
     * from the very process whose answer it waits for. Measured on 2 vCPUs, in turn
     * (bench/README.md): without polling, the CPU per replicated write fell by a quarter, and
     * neither QD32 reads and writes nor QD1 durable writes got slower (QD1 a little faster).
     * {@value #POLL_PROPERTY}=50 brings it back where cores are to spare.
     */
    public static final long POLL_MICROS_DEFAULT = 0;

    /** JVM property: microseconds between two looks at the descriptors while polling. */
    public static final String SELECT_EVERY_PROPERTY = "repl.poll-select-every-us";
    /**
     * A few system calls' worth: a peer's acknowledgement or a client's request, which only
     * the descriptors show, waits this long at most while the loop polls.
     */
    public static final long SELECT_EVERY_MICROS_DEFAULT = 15;
    /** After a completion queue showed an entry the descriptors did not yet: look again soon. */
    private static final long SELECT_AGAIN_NANOS = 2_000;

    /** What the engines on one loop thread tell it; touched only by that thread. */
    private static final class LoopState {
        /** Requests in flight on the engines this thread drives. */
        int inFlight;
        /** Whether an engine has completions waiting, read from memory without a system call. */
        BooleanSupplier[] probes = new BooleanSupplier[0];
    }

    private static final ThreadLocal<LoopState> STATE = ThreadLocal.withInitial(LoopState::new);

    private final long pollNanos;
    private final long selectEveryNanos;
    /** This loop thread's state, looked up on the first call (always from that thread). */
    private LoopState state;

    private PollingSelectStrategy(long pollNanos, long selectEveryNanos) {
        this.pollNanos = pollNanos;
        this.selectEveryNanos = selectEveryNanos;
    }

    /** The poll budget from {@value #POLL_PROPERTY}, or the default; negative values mean 0. */
    public static long configuredNanos() {
        return Math.max(0, Long.getLong(POLL_PROPERTY, POLL_MICROS_DEFAULT)) * 1000;
    }

    /** The interval from {@value #SELECT_EVERY_PROPERTY}, or the default; 0 looks on every turn. */
    public static long configuredSelectEveryNanos() {
        return Math.max(0, Long.getLong(SELECT_EVERY_PROPERTY, SELECT_EVERY_MICROS_DEFAULT)) * 1000;
    }

    /** A factory for loops that poll up to {@code pollNanos} (0: never) before sleeping. */
    public static SelectStrategyFactory factory(long pollNanos) {
        return factory(pollNanos, configuredSelectEveryNanos());
    }

    /** The same, looking at the descriptors every {@code selectEveryNanos} while polling. */
    public static SelectStrategyFactory factory(long pollNanos, long selectEveryNanos) {
        return () -> new PollingSelectStrategy(pollNanos, selectEveryNanos);
    }

    /** Called on a loop's thread when its engines' in-flight count changes. */
    static void inFlightChanged(int delta) {
        STATE.get().inFlight += delta;
    }

    /** Called on a loop's thread: {@code probe} tells, from memory, that an engine has completions. */
    static void addProbe(BooleanSupplier probe) {
        LoopState st = STATE.get();
        BooleanSupplier[] p = Arrays.copyOf(st.probes, st.probes.length + 1);
        p[p.length - 1] = probe;
        st.probes = p;
    }

    /** Called on a loop's thread when the engine behind {@code probe} is gone. */
    static void removeProbe(BooleanSupplier probe) {
        LoopState st = STATE.get();
        st.probes = Arrays.stream(st.probes).filter(x -> x != probe).toArray(BooleanSupplier[]::new);
    }

    private boolean completionsWaiting() {
        for (BooleanSupplier p : state.probes) {
            if (p.getAsBoolean()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int calculateStrategy(IntSupplier selectNow, boolean hasTasks) throws Exception {
        if (hasTasks) {
            return selectNow.get();
        }
        if (state == null) {
            state = STATE.get();
        }
        if (pollNanos > 0 && state.inFlight > 0) {
            long now = System.nanoTime();
            long deadline = now + pollNanos;
            long nextSelect = now;
            // The queues showed a completion that the last look at the descriptors had not yet.
            boolean seen = false;
            do {
                boolean waiting = completionsWaiting();
                if (now - nextSelect >= 0 || (waiting && !seen)) {
                    int ready = selectNow.get();
                    if (ready > 0) {
                        return ready;
                    }
                    // A completion is posted a moment before its eventfd is signalled.
                    seen = waiting;
                    nextSelect = now + (waiting ? SELECT_AGAIN_NANOS : selectEveryNanos);
                }
                Thread.onSpinWait();
                now = System.nanoTime();
            } while (now - deadline < 0);
        }
        return SelectStrategy.SELECT;
    }
}
