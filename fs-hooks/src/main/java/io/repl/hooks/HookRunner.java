package io.repl.hooks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs operator handlers (the {@code [handlers]} commands) out of band: never on the
 * replication path, each with a deadline, its output logged line by line as it runs, and its
 * end reported. A handler that outlives its deadline is killed together with every process
 * it started, so a hung mount or fence script cannot pile up.
 */
public final class HookRunner implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(HookRunner.class.getName());
    /** Lines of output kept for the result; the log gets every line. */
    static final int OUTPUT_LINES_MAX = 50;
    private static final int LINE_CHARS_MAX = 1000;
    private static final int QUEUED_MAX = 64;

    private final ExecutorService pool;
    private final HookObserver observer;
    /** Per handler name: runs ended, and those that failed (non-zero, killed, not started), for metrics. */
    private final Map<String, long[]> ended = new java.util.concurrent.ConcurrentHashMap<>();

    public HookRunner(int concurrentMax) {
        this(concurrentMax, HookObserver.NONE);
    }

    /** {@code observer} hears of every handler run and its end (the agent's event journal). */
    public HookRunner(int concurrentMax, HookObserver observer) {
        this.observer = observer;
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(concurrentMax, concurrentMax, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(QUEUED_MAX), r -> {
                    Thread t = new Thread(r, "hook-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
    }

    /**
     * Starts {@code command} with {@code /bin/sh -c}, with {@code env} added to the agent's
     * environment, and completes when it ends or is killed at {@code timeout}.
     */
    public CompletableFuture<HookResult> run(String name, String command, Map<String, String> env,
                                             Duration timeout) {
        CompletableFuture<HookResult> done = new CompletableFuture<>();
        try {
            pool.execute(() -> done.complete(count(runNow(name, command, env, timeout))));
        } catch (RejectedExecutionException e) {
            HookResult r = count(new HookResult(name, -1, false, "", "too many handlers queued (" + QUEUED_MAX + ")"));
            observer.finished(r);
            done.complete(r);
        }
        return done;
    }

    /** The event {@code name} happened with no handler configured: only the observer hears of it. */
    public void unhandled(String name, Map<String, String> env) {
        observer.unhandled(name, env);
    }

    /** Counted before anyone waiting for the result sees it. */
    private HookResult count(HookResult r) {
        long[] c = ended.computeIfAbsent(r.name(), k -> new long[2]);
        synchronized (c) {
            c[0]++;
            if (!r.succeeded()) {
                c[1]++;
            }
        }
        return r;
    }

    /** Per handler name, the runs that ended and how many of them failed, since the runner started. */
    public Map<String, long[]> endedRuns() {
        Map<String, long[]> out = new java.util.TreeMap<>();
        ended.forEach((name, c) -> {
            synchronized (c) {
                out.put(name, new long[] {c[0], c[1]});
            }
        });
        return out;
    }

    private HookResult runNow(String name, String command, Map<String, String> env, Duration timeout) {
        LOG.log(System.Logger.Level.INFO, "handler " + name + " starting: " + command);
        observer.started(name, command, env);
        Process p;
        try {
            ProcessBuilder pb = new ProcessBuilder(List.of("/bin/sh", "-c", command)).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().putAll(env);
            p = pb.start();
        } catch (IOException e) {
            HookResult r = new HookResult(name, -1, false, "", e.getMessage());
            LOG.log(System.Logger.Level.WARNING, r.summary());
            observer.finished(r);
            return r;
        }
        ArrayDeque<String> tail = new ArrayDeque<>();
        Thread reader = new Thread(() -> pump(name, p, tail), "hook-output-" + name);
        reader.setDaemon(true);
        reader.start();
        boolean timedOut = false;
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                timedOut = true;
                killTree(p);
            }
            // Output after exit still drains; the reader ends when the pipe closes.
            reader.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            killTree(p);
        }
        String out;
        synchronized (tail) {
            out = String.join("\n", tail);
        }
        HookResult r = new HookResult(name, timedOut ? -1 : p.exitValue(), timedOut, out, null);
        LOG.log(r.succeeded() ? System.Logger.Level.INFO : System.Logger.Level.WARNING, r.summary());
        observer.finished(r);
        return r;
    }

    private static void pump(String name, Process p, ArrayDeque<String> tail) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.length() > LINE_CHARS_MAX) {
                    line = line.substring(0, LINE_CHARS_MAX) + "...";
                }
                LOG.log(System.Logger.Level.INFO, "handler " + name + ": " + line);
                synchronized (tail) {
                    if (tail.size() == OUTPUT_LINES_MAX) {
                        tail.removeFirst();
                    }
                    tail.addLast(line);
                }
            }
        } catch (IOException e) {
            // The pipe closed under us when the process was killed: nothing more to read.
        }
    }

    /** Kills the handler and everything it started, children first so none is re-parented. */
    private static void killTree(Process p) {
        p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
