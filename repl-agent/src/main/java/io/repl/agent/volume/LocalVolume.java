package io.repl.agent.volume;

import io.repl.io.AlignedBuffers;
import io.repl.io.BlockEngine;
import io.repl.io.IoCallback;
import java.nio.ByteBuffer;

/** A volume that is just the local disk: no peer, nothing to mirror. */
public final class LocalVolume implements Volume {
    private final BlockEngine engine;

    public LocalVolume(BlockEngine engine) {
        this.engine = engine;
    }

    @Override
    public long size() {
        return engine.size();
    }

    @Override
    public int blockSize() {
        return Math.max(512, engine.alignment());
    }

    @Override
    public AlignedBuffers buffers() {
        return engine.buffers();
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCallback done) {
        engine.read(offset, dst, done);
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua, IoCallback done) {
        if (fua) {
            engine.writeDurable(offset, src, done);
        } else {
            engine.write(offset, src, done);
        }
    }

    @Override
    public void flush(IoCallback done) {
        engine.flush(done);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap, boolean fastOnly, boolean fua,
                            IoCallback done) {
        engine.writeZeroes(offset, length, mayUnmap, fastOnly, fua ? engine.thenFlush(done) : done);
    }
}
