package io.repl.agent.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.core.replication.CommandResult;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A command the core answers later: the control thread waits with a deadline while the loop
 * (here a single thread, as the resource's event loop is) goes on and delivers the answer.
 */
@Timeout(30)
class PendingCommandTest {
    private final ExecutorService loop = Executors.newSingleThreadExecutor();
    private final PendingCommand pending = new PendingCommand("r0", loop);

    @AfterEach
    void stop() {
        loop.shutdownNow();
    }

    private CompletableFuture<CommandResult> expectOnLoop() throws Exception {
        return loop.submit(pending::expect).get();
    }

    @Test
    void theAnswerDeliveredLaterOnTheLoopIsWhatTheControlThreadGets() throws Exception {
        CompletableFuture<CommandResult> later = expectOnLoop();
        Thread control = Thread.currentThread();
        loop.execute(() -> {
            // The answer comes once the control thread is waiting for it.
            while (control.getState() != Thread.State.TIMED_WAITING) {
                LockSupport.parkNanos(1_000_000);
            }
            pending.complete(CommandResult.noUpToDateData("the witness refused", "bring the peer back"));
        });
        CommandResult r = pending.await(later, TimeUnit.SECONDS.toNanos(10));
        assertEquals(CommandResult.NO_UP_TO_DATE_DATA, r.exitCode());
        assertEquals("the witness refused", r.reason());
    }

    @Test
    void withoutAnAnswerTheWaitEndsAtItsDeadlineWithAnUnknownOutcome() throws Exception {
        CompletableFuture<CommandResult> later = expectOnLoop();
        long start = System.nanoTime();
        CommandResult r = pending.await(later, TimeUnit.MILLISECONDS.toNanos(300));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMs >= 250 && tookMs < 5_000, "waited " + tookMs + " ms");
        assertEquals(CommandResult.REFUSED, r.exitCode());
        assertTrue(r.reason().contains("no outcome within"), r.reason());
        assertTrue(r.nextStep().contains("replctl status"), r.nextStep());
        // A late answer finds nobody waiting: it is logged, never handed to the next command.
        loop.submit(() -> pending.complete(CommandResult.ok())).get();
        CompletableFuture<CommandResult> next = expectOnLoop();
        assertFalse(next.isDone());
    }

    @Test
    void anImmediateAnswerLeavesNothingExpected() throws Exception {
        CompletableFuture<CommandResult> later = expectOnLoop();
        loop.submit(() -> pending.settled(later)).get();
        loop.submit(() -> pending.complete(CommandResult.ok())).get();
        assertFalse(later.isDone(), "a stray completion does not reach a command that was answered at once");
    }

    @Test
    void anAnswerGivenBeforeTheWaitStartsIsNotLost() throws Exception {
        Future<CompletableFuture<CommandResult>> f = loop.submit(() -> {
            CompletableFuture<CommandResult> later = pending.expect();
            pending.complete(CommandResult.ok());
            return later;
        });
        assertTrue(pending.await(f.get(), TimeUnit.SECONDS.toNanos(1)).done());
    }
}
