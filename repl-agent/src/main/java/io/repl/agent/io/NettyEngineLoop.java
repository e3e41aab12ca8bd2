package io.repl.agent.io;

import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.repl.io.EngineLoop;
import java.io.IOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * A Netty epoll event loop as the loop an engine runs on: the ring's eventfd is polled by the
 * same epoll as the resource's sockets, so one thread reads an NBD request, submits its I/O,
 * reaps the completion and writes the reply.
 */
public final class NettyEngineLoop implements EngineLoop {
    private static final long REGISTER_WAIT_SECONDS = 10;
    private final IoEventLoop loop;

    public NettyEngineLoop(IoEventLoop loop) {
        this.loop = loop;
    }

    @Override
    public boolean inLoop() {
        return loop.inEventLoop();
    }

    @Override
    public void execute(Runnable task) {
        loop.execute(task);
    }

    @Override
    public void inFlightChanged(int delta) {
        PollingSelectStrategy.inFlightChanged(delta);
    }

    @Override
    public Watch watch(int fd, Runnable onReadable) throws IOException {
        return watch(fd, onReadable, null);
    }

    @Override
    public Watch watch(int fd, Runnable onReadable, BooleanSupplier pending) throws IOException {
        Handle handle = new Handle(fd, onReadable);
        IoRegistration registration;
        try {
            registration = loop.register(handle).get(REGISTER_WAIT_SECONDS, TimeUnit.SECONDS);
            loop.submit(() -> {
                registration.submit(EpollIoOps.EPOLLIN);
                if (pending != null) {
                    PollingSelectStrategy.addProbe(pending);
                }
            }).get(REGISTER_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while registering descriptor " + fd + " with the event loop", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("cannot register descriptor " + fd + " with the event loop: " + e, e);
        }
        Runnable cancel = () -> {
            registration.cancel();
            if (pending != null) {
                PollingSelectStrategy.removeProbe(pending);
            }
        };
        return () -> {
            if (loop.inEventLoop()) {
                cancel.run();
            } else if (!loop.isShuttingDown()) {
                loop.execute(cancel);
            }
        };
    }

    @Override
    public String toString() {
        return "event loop " + loop;
    }

    /** The eventfd as Netty sees it; the descriptor itself stays the engine's to close. */
    private static final class Handle implements EpollIoHandle {
        private final FileDescriptor fd;
        private final Runnable onReadable;

        Handle(int fd, Runnable onReadable) {
            this.fd = new FileDescriptor(fd);
            this.onReadable = onReadable;
        }

        @Override
        public FileDescriptor fd() {
            return fd;
        }

        @Override
        public void handle(IoRegistration registration, IoEvent event) {
            onReadable.run();
        }

        @Override
        public void close() {
            // Not ours to close: the engine closes the eventfd after cancelling the watch.
        }
    }
}
