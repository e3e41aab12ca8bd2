package io.repl.hooks;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Who holds a mounted filesystem busy: processes whose working directory, root, executable,
 * open files or mapped files lie under the mount point, read from {@code /proc} as
 * {@code fuser -m} would (without depending on it being installed).
 */
public final class MountHolders {
    /** Holders named in a message; a busy mount with hundreds of them names the first few. */
    static final int NAMED_MAX = 8;

    private MountHolders() {}

    /** {@code pid 4242 (bash)} for each process holding something under {@code point}, this one excluded. */
    public static List<String> of(Path point) {
        String root = point.toAbsolutePath().normalize().toString();
        long self = ProcessHandle.current().pid();
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString()
                .chars().allMatch(Character::isDigit))) {
            for (Path proc : procs) {
                long pid = Long.parseLong(proc.getFileName().toString());
                if (pid != self && holds(proc, root)) {
                    out.add("pid " + pid + " (" + comm(proc) + ")");
                }
            }
        } catch (IOException e) {
            // /proc unreadable: nobody can be named, the caller still reports the busy mount.
        }
        return out;
    }

    private static boolean holds(Path proc, String root) {
        for (String link : new String[] {"cwd", "root", "exe"}) {
            if (under(readLink(proc.resolve(link)), root)) {
                return true;
            }
        }
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
            for (Path fd : fds) {
                if (under(readLink(fd), root)) {
                    return true;
                }
            }
        } catch (IOException | SecurityException e) {
            // Gone, or not ours to read.
        }
        try {
            for (String line : Files.readAllLines(proc.resolve("maps"))) {
                int slash = line.indexOf('/');
                if (slash >= 0 && under(line.substring(slash), root)) {
                    return true;
                }
            }
        } catch (IOException | SecurityException e) {
            // Gone, or not ours to read.
        }
        return false;
    }

    private static boolean under(String path, String root) {
        return path != null && (path.equals(root) || path.startsWith(root.endsWith("/") ? root : root + "/"));
    }

    private static String readLink(Path p) {
        try {
            return Files.readSymbolicLink(p).toString();
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        }
    }

    private static String comm(Path proc) {
        try {
            return Files.readString(proc.resolve("comm")).strip();
        } catch (IOException e) {
            return "?";
        }
    }

    /** The holders as one phrase for a refusal: the first {@link #NAMED_MAX}, then how many more. */
    public static String describe(List<String> holders) {
        if (holders.isEmpty()) {
            return "no process found holding it (a bind mount, a loop device or the kernel may)";
        }
        String named = String.join(", ", holders.subList(0, Math.min(NAMED_MAX, holders.size())));
        return "held by " + named + (holders.size() > NAMED_MAX ? " and " + (holders.size() - NAMED_MAX) + " more" : "");
    }
}
