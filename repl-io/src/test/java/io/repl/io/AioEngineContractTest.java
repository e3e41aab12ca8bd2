package io.repl.io;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.repl.io.aio.AioEngine;
import java.io.IOException;
import org.junit.jupiter.api.BeforeAll;

/** The engine contract against the Linux AIO engine. */
class AioEngineContractTest extends BlockEngineContract {
    @BeforeAll
    static void aioAvailable() {
        assumeTrue(AioEngine.kernelRefusal() == null, "Linux AIO refused here: " + AioEngine.kernelRefusal());
    }

    @Override
    BlockEngine open(Backing backing, long sizeBytes) throws IOException {
        return AioEngine.open(backing, sizeBytes);
    }

    @Override
    String engineName() {
        return "libaio";
    }
}
