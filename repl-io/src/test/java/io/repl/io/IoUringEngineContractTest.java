package io.repl.io;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.repl.io.uring.IoUringEngine;
import java.io.IOException;
import org.junit.jupiter.api.BeforeAll;

/** The engine contract against the io_uring engine. */
class IoUringEngineContractTest extends BlockEngineContract {
    @BeforeAll
    static void ioUringAvailable() {
        String refused = IoUringEngine.kernelRefusal();
        assumeTrue(refused == null, "io_uring refused on this machine: " + refused);
    }

    @Override
    BlockEngine open(Backing backing, long sizeBytes) throws IOException {
        return IoUringEngine.open(backing, sizeBytes);
    }

    @Override
    String engineName() {
        return "io_uring";
    }
}
