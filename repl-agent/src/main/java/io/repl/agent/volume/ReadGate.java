package io.repl.agent.volume;

import io.netty.util.concurrent.EventExecutor;
import io.repl.io.AlignedBuffers;
import io.repl.io.Errno;
import io.repl.io.IoCallback;
import java.nio.ByteBuffer;

/**
 * Lets read-only clients read a node's disk only while that disk is UpToDate.
 *
 * <p>A Secondary serves its export read-only while its disk is UpToDate. Once the disk leaves
 * UpToDate (invalidate, a resync, Outdated, Failed) its bytes may be half rewritten, and no
 * read-only client may see them. The gate lives on the resource's one event loop, which also
 * carries the replication core's state changes, the NBD sessions and the engine's
 * completions, so "before" and "after" a state change are plain program order there:
 *
 * <ul>
 *   <li>a read that arrives while the gate is shut fails with EIO without touching the disk;
 *   <li>a read admitted while it was open is answered with data only if, when its completion
 *       reaches the loop, the gate is still open and has not shut in the meantime; otherwise
 *       EIO. A write the core submits under it (a resync block) is submitted in or after the
 *       event that shut the gate, so a read that could have met it completes after that
 *       event and is refused.
 * </ul>
 *
 * <p>{@link #update} runs on the loop; a read called from elsewhere hops onto it first.
 */
public final class ReadGate {
    private final EventExecutor loop;
    /** Written on the loop only; volatile so that {@link #isOpen} may be asked from anywhere. */
    private volatile boolean open;
    /** How often the gate has shut: a read is served only if none happened while it was out. */
    private long closings;

    /** A gate on {@code loop}, shut until the first {@link #update} opens it. */
    public ReadGate(EventExecutor loop) {
        this.loop = loop;
    }

    /**
     * On the loop: whether the disk is UpToDate now.
     *
     * @return true if this shut the gate (it was open)
     */
    public boolean update(boolean upToDate) {
        requireLoop();
        if (open && !upToDate) {
            open = false;
            closings++;
            return true;
        }
        open = upToDate;
        return false;
    }

    /** Whether reads are admitted now; off the loop, a snapshot that may already be stale. */
    public boolean isOpen() {
        return open;
    }

    /** {@code v} as read-only clients see it: reads through this gate, no writes. */
    public Volume readOnly(Volume v) {
        return new Guarded(v);
    }

    private void requireLoop() {
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("the read gate is used only on its event loop");
        }
    }

    private void onLoop(Runnable r) {
        if (loop.inEventLoop()) {
            r.run();
        } else {
            loop.execute(r);
        }
    }

    private final class Guarded implements Volume {
        private final Volume inner;

        Guarded(Volume inner) {
            this.inner = inner;
        }

        @Override
        public long size() {
            return inner.size();
        }

        @Override
        public int blockSize() {
            return inner.blockSize();
        }

        @Override
        public int preferredBlockSize() {
            return inner.preferredBlockSize();
        }

        @Override
        public AlignedBuffers buffers() {
            return inner.buffers();
        }

        @Override
        public void read(long offset, ByteBuffer dst, IoCallback done) {
            if (!loop.inEventLoop()) {
                loop.execute(() -> read(offset, dst, done));
                return;
            }
            if (!open) {
                done.complete(-Errno.EIO);
                return;
            }
            long admitted = closings;
            inner.read(offset, dst, r -> onLoop(() -> done.complete(r != 0 ? r
                    : open && closings == admitted ? 0 : -Errno.EIO)));
        }

        @Override
        public void write(long offset, ByteBuffer src, boolean fua, IoCallback done) {
            done.complete(-Errno.EPERM);
        }

        @Override
        public void flush(IoCallback done) {
            inner.flush(done);
        }

        @Override
        public void writeZeroes(long offset, long length, boolean mayUnmap, boolean fastOnly, boolean fua,
                                IoCallback done) {
            done.complete(-Errno.EPERM);
        }
    }
}
