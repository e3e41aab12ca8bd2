package io.repl.core.replication;

import io.repl.core.metadata.SuperblockFlag;
import io.repl.core.uuid.GenerationUuids;
import java.util.ArrayList;
import java.util.List;

/** Converts generation identifiers between the metadata's form and the UUIDS message. */
final class UuidMessages {

    private UuidMessages() {
    }

    static io.repl.protocol.GenerationUuids toMessage(MetaStore meta) {
        GenerationUuids uuids = meta.uuids();
        List<Long> history = new ArrayList<>();
        for (int i = 0; i < GenerationUuids.HISTORY_SIZE; i++) {
            if (uuids.history(i) != 0) {
                history.add(uuids.history(i));
            }
        }
        int flags = 0;
        if (meta.has(SuperblockFlag.CONSISTENT)) {
            flags |= io.repl.protocol.GenerationUuids.CONSISTENT;
        }
        if (meta.has(SuperblockFlag.PRIMARY)) {
            flags |= io.repl.protocol.GenerationUuids.WAS_PRIMARY;
        }
        if (meta.has(SuperblockFlag.CRASHED_PRIMARY)) {
            flags |= io.repl.protocol.GenerationUuids.CRASHED_PRIMARY;
        }
        if (meta.has(SuperblockFlag.DEPOSED)) {
            flags |= io.repl.protocol.GenerationUuids.DEPOSED;
        }
        if (meta.has(SuperblockFlag.SPLIT_AS_PRIMARY) && uuids.bitmap() != 0) {
            flags |= io.repl.protocol.GenerationUuids.SPLIT_AS_PRIMARY;
        }
        return new io.repl.protocol.GenerationUuids(uuids.current(), uuids.bitmap(), history, flags,
                meta.bitmap().dirtyBlocks());
    }

    static GenerationUuids fromMessage(io.repl.protocol.GenerationUuids message) {
        long[] history = new long[message.history().size()];
        for (int i = 0; i < history.length; i++) {
            history[i] = message.history().get(i);
        }
        return GenerationUuids.of(message.current(), message.bitmap(), history);
    }
}
