package io.repl.agent.replication;

import io.repl.io.AlignedBuffers;
import io.repl.io.BlockEngine;
import io.repl.io.IoCallback;
import java.nio.ByteBuffer;

/** An engine that passes everything to another; the test engines change a call or two. */
public class ForwardingEngine implements BlockEngine {
    protected final BlockEngine inner;

    public ForwardingEngine(BlockEngine inner) {
        this.inner = inner;
    }

    @Override
    public String name() {
        return "test " + inner.name();
    }

    @Override
    public long size() {
        return inner.size();
    }

    @Override
    public void resize(long sizeBytes) {
        inner.resize(sizeBytes);
    }

    @Override
    public int alignment() {
        return inner.alignment();
    }

    @Override
    public boolean direct() {
        return inner.direct();
    }

    @Override
    public AlignedBuffers buffers() {
        return inner.buffers();
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCallback done) {
        inner.read(offset, dst, done);
    }

    @Override
    public void write(long offset, ByteBuffer src, IoCallback done) {
        inner.write(offset, src, done);
    }

    @Override
    public void flush(IoCallback done) {
        inner.flush(done);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap, boolean fastOnly, IoCallback done) {
        inner.writeZeroes(offset, length, mayUnmap, fastOnly, done);
    }

    @Override
    public void close() {
        inner.close();
    }
}
