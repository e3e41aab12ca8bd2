package io.repl.agent.peer;

import io.repl.protocol.FrameEncoder;
import io.repl.protocol.Message;
import io.repl.protocol.WireSettings;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads that compress and frame large blocks for {@link PeerSession}, shared by every
 * resource of the agent: one per processor, daemons, started on first use (never when no
 * link agreed LZ4).
 */
final class Lz4Workers {
    private Lz4Workers() {
    }

    private static final class Pool {
        private static final AtomicInteger NEXT = new AtomicInteger();
        static final ExecutorService EXECUTOR = Executors.newFixedThreadPool(
                Math.max(1, Runtime.getRuntime().availableProcessors()), r -> {
                    Thread t = new Thread(r, "repl-lz4-" + NEXT.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
    }

    /** Encodes {@code message} as one frame under {@code settings} on a worker thread. */
    static CompletableFuture<PeerFrameEncoder.Encoded> encode(WireSettings settings, Message message) {
        return CompletableFuture.supplyAsync(
                () -> new PeerFrameEncoder.Encoded(message, new FrameEncoder(settings).encode(message)), Pool.EXECUTOR);
    }
}
