package io.repl.hooks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * The built-in mount: {@code fsck -p} then {@code mount} after a promotion, {@code umount}
 * before a demotion. Each step runs as a handler of {@link HookRunner} (deadline, output in the
 * log and the journal), named {@code RESOURCE/fsck}, {@code RESOURCE/mount}, {@code RESOURCE/umount}.
 *
 * <p>On a real host the device is the export seen through the kernel's NBD client
 * ({@code /dev/nbd0}); {@code attach} connects it after the promotion (e.g. {@code nbd-client}),
 * and {@code detach} disconnects it after the unmount, so that no writer holds the export when
 * the demotion comes.
 *
 * @param fstype null: as mount(8) finds it
 * @param options null: mount(8)'s defaults
 * @param attach null, or the command that makes {@code device} before fsck
 * @param detach null, or the command that lets go of {@code device} after the unmount
 */
public record MountAction(String resource, Path device, Path point, String fstype, String options, String attach,
                          String detach) {
    /**
     * fsck's exit status is a bit mask: 1 errors corrected, 2 corrected but the system should be
     * rebooted (a mounted root), 4 errors left uncorrected, 8 operational error, 16 usage,
     * 32 cancelled, 128 library error. Anything past 3 means the filesystem is not known good.
     */
    static final int FSCK_CORRECTED_MAX = 3;

    /**
     * Checks and mounts; null when mounted (or already mounted there), else why not. The caller
     * has just promoted: the node stays Primary whatever this says.
     */
    public String mount(HookRunner runner, Map<String, String> env, Duration timeout) {
        if (mounted()) {
            return null;
        }
        if (attach != null) {
            HookResult a = run(runner, "mount-attach", attach, env, timeout);
            if (!a.succeeded()) {
                return "mount-attach " + describe(a) + "; " + device + " not checked nor mounted";
            }
        }
        HookResult fsck = run(runner, "fsck", "fsck -p " + (fstype == null ? "" : "-t " + quote(fstype) + " ")
                + quote(device.toString()), env, timeout);
        if (fsck.error() != null || fsck.timedOut() || fsck.exitCode() > FSCK_CORRECTED_MAX) {
            return "fsck -p " + device + " " + describe(fsck) + "; not mounted: check it by hand (fsck " + device
                    + ") before mounting " + point;
        }
        try {
            Files.createDirectories(point);
        } catch (IOException e) {
            return "cannot create the mount point " + point + ": " + e.getMessage();
        }
        HookResult m = run(runner, "mount", "mount" + (fstype == null ? "" : " -t " + quote(fstype))
                + (options == null ? "" : " -o " + quote(options)) + " " + quote(device.toString()) + " "
                + quote(point.toString()), env, timeout);
        if (!m.succeeded()) {
            return "mount " + device + " on " + point + " " + describe(m);
        }
        return null;
    }

    /** Unmounts; null when nothing is mounted there any more, else why not (with who holds it). */
    public String unmount(HookRunner runner, Map<String, String> env, Duration timeout) {
        if (mounted()) {
            HookResult u = run(runner, "umount", "umount " + quote(point.toString()), env, timeout);
            if (!u.succeeded() || mounted()) {
                return point + " is busy, still mounted (umount " + describe(u) + "); "
                        + MountHolders.describe(MountHolders.of(point));
            }
        }
        if (detach != null) {
            HookResult d = run(runner, "mount-detach", detach, env, timeout);
            if (!d.succeeded()) {
                return point + " is unmounted, but mount-detach " + describe(d);
            }
        }
        return null;
    }

    /**
     * {@code fsfreeze -f} (freeze) or {@code -u} (thaw) on the mounted file system; null when done,
     * else why not. A frozen file system has flushed everything and holds new writes until thawed.
     */
    public String freeze(HookRunner runner, Map<String, String> env, Duration timeout, boolean freeze) {
        if (!mounted()) {
            return "nothing is mounted on " + point;
        }
        String step = freeze ? "fsfreeze" : "fsthaw";
        HookResult r = run(runner, step, "fsfreeze " + (freeze ? "-f " : "-u ") + quote(point.toString()), env, timeout);
        return r.succeeded() ? null : "fsfreeze " + (freeze ? "-f " : "-u ") + point + " " + describe(r);
    }

    /** Whether something is mounted on {@link #point} (per /proc/self/mountinfo). */
    public boolean mounted() {
        String p = point.toAbsolutePath().normalize().toString();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                if (f.length > 4 && unescape(f[4]).equals(p)) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    private HookResult run(HookRunner runner, String step, String command, Map<String, String> env, Duration timeout) {
        try {
            return runner.run(resource + "/" + step, command, env, timeout).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new HookResult(resource + "/" + step, -1, false, "", "interrupted");
        } catch (ExecutionException e) {
            return new HookResult(resource + "/" + step, -1, false, "", String.valueOf(e.getCause()));
        }
    }

    /** How a step ended, with its last lines, for a refusal. */
    static String describe(HookResult r) {
        if (r.error() != null) {
            return "could not run: " + r.error();
        }
        String tail = HookResult.tail(r.output());
        String how = r.timedOut() ? "timed out and was killed" : "exited with " + r.exitCode();
        return how + (tail.isEmpty() ? "" : ": " + tail);
    }

    /** Mountinfo escapes space, tab, newline and backslash as octal. */
    private static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }

    static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
