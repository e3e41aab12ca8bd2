package io.repl.agent.replication;

import io.repl.core.replication.CommandResult;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The later answer to an operator command the core could not answer at once
 * ({@link CommandResult#pending()}: a promotion that waits for the witness or the fence-peer
 * handler). The control thread waits for it with a deadline while the core's loop goes on;
 * the core delivers it through {@code commandCompleted} on the loop.
 *
 * <p>Commands run one at a time on the control thread, so one slot is enough. The slot is
 * touched only on the loop; the future is what crosses threads.
 */
final class PendingCommand {
    private static final System.Logger LOG = System.getLogger(PendingCommand.class.getName());

    private final String resource;
    private final Executor loop;
    /** The command whose answer may still come, or null. Loop only. */
    private CompletableFuture<CommandResult> awaited;

    PendingCommand(String resource, Executor loop) {
        this.resource = resource;
        this.loop = loop;
    }

    /** On the loop, just before the core sees a command: a later answer goes to the future returned. */
    CompletableFuture<CommandResult> expect() {
        awaited = new CompletableFuture<>();
        return awaited;
    }

    /** On the loop, when the core answered at once: nothing more is expected for {@code answer}. */
    void settled(CompletableFuture<CommandResult> answer) {
        if (awaited == answer) {
            awaited = null;
        }
    }

    /** On the loop: the core's {@code commandCompleted}. An answer nobody waits for any more is logged. */
    void complete(CommandResult result) {
        CompletableFuture<CommandResult> a = awaited;
        awaited = null;
        if (a == null || !a.complete(result)) {
            LOG.log(System.Logger.Level.WARNING, resource + ": a command finished after replctl stopped waiting: "
                    + (result.done() ? "done" : "refused (" + result.exitCode() + "): " + result.reason()));
        }
    }

    /** On the loop: the core will not answer (it failed); a command still waiting gets {@code result}. */
    void abandon(CommandResult result) {
        if (awaited != null) {
            awaited.complete(result);
            awaited = null;
        }
    }

    /**
     * On the control thread: waits up to {@code timeoutNanos} for the answer. Past that, the
     * operator hears that the outcome is unknown, and a late answer is only logged.
     */
    CommandResult await(CompletableFuture<CommandResult> answer, long timeoutNanos) throws InterruptedException {
        try {
            return answer.get(timeoutNanos, TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            // Never completed exceptionally; a bug if it is.
            throw new IllegalStateException(resource + ": pending command failed", e.getCause());
        } catch (TimeoutException e) {
            loop.execute(() -> settled(answer));
            return CommandResult.refused("no outcome within " + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos)
                    + " s (the command waits for the witness or the fence-peer handler)",
                    "check replctl status: the command may still take effect, and the agent's log says when");
        }
    }
}
