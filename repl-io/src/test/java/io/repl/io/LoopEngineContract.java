package io.repl.io;

import static org.junit.jupiter.api.Assertions.assertThrows;

import io.repl.io.uring.PollLoop;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine contract for an engine driven by an event loop, the way the agent runs it, on a
 * {@link PollLoop} standing in for the agent's Netty loop.
 */
abstract class LoopEngineContract extends BlockEngineContract {
    static PollLoop loop;

    @BeforeAll
    static void startLoop() {
        loop = new PollLoop("engine-test-loop");
    }

    @AfterAll
    static void stopLoop() throws InterruptedException {
        loop.close();
    }

    /** Opens the engine on {@code driver} with {@code slots} requests in the kernel at once. */
    abstract BlockEngine open(Backing backing, long sizeBytes, int slots, EngineLoop driver) throws IOException;

    @Test
    void cannotBeOpenedOnItsOwnLoop() throws Exception {
        CompletableFuture<Throwable> thrown = new CompletableFuture<>();
        loop.execute(() -> thrown.complete(assertThrows(IllegalStateException.class,
                () -> open(Backing.probe(file), VOLUME_BYTES, 8, loop))));
        thrown.get(30, TimeUnit.SECONDS);
    }
}
