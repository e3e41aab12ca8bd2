package io.repl.io;

import java.io.IOException;

/** The engine contract against the portable engine. */
class FileChannelEngineContractTest extends BlockEngineContract {
    @Override
    BlockEngine open(Backing backing, long sizeBytes) throws IOException {
        return FileChannelEngine.open(backing, sizeBytes, true, Engines.FILECHANNEL_THREADS);
    }

    @Override
    String engineName() {
        return "filechannel";
    }
}
