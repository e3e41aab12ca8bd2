package io.repl.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who else has a disk, as far as this system can say, for a refusal that names them: the
 * processes with the file open (from {@code /proc/PID/fd}), and for a block device also where it
 * or one of its partitions is mounted ({@code /proc/self/mountinfo}), which kernel devices sit
 * on it ({@code /sys/dev/block/MAJ:MIN/holders}) and whether it is swap. A best effort: what
 * cannot be read (another user's processes, a process that just ended) is left out.
 */
final class DiskHolders {
    /** File type bits of st_mode, and the block-device type. */
    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;
    /** Bounds the answer and the work: a refusal needs a name or two, not a census. */
    private static final int PROCESSES_MAX = 8;
    private static final int COMMAND_CHARS_MAX = 160;

    private static final Path PROC = Path.of("/proc");
    private static final Path SYS_DEV_BLOCK = Path.of("/sys/dev/block");

    private DiskHolders() {}

    /** What kind of holder; each kind has its own remedy. */
    enum Kind {
        MOUNT("unmount it"),
        KERNEL_DEVICE("remove the device built on it"),
        SWAP("swapoff it"),
        PROCESS("stop that process (another repl agent: take its resource down)"),
        UNKNOWN("find what holds it (/proc/locks lists the locks) and release it");

        final String remedy;

        Kind(String remedy) {
            this.remedy = remedy;
        }
    }

    /** One holder, as a refusal names it: "pid 42 (qemu-nbd -f raw disk.img)", "mounted at /mnt". */
    record Holder(Kind kind, String text) {
        @Override
        public String toString() {
            return text;
        }
    }

    static boolean isBlockDevice(Path p) throws IOException {
        return ((Integer) Files.getAttribute(p, "unix:mode") & S_IFMT) == S_IFBLK;
    }

    /** What holds {@code disk}, or an empty list when nothing can be seen. */
    static List<Holder> describe(Path disk) {
        List<Holder> found = new ArrayList<>();
        try {
            Map<String, Object> a = Files.readAttributes(disk, "unix:mode,dev,ino,rdev");
            boolean block = ((Integer) a.get("mode") & S_IFMT) == S_IFBLK;
            Identity id = new Identity(block, (Long) a.get("dev"), (Long) a.get("ino"), (Long) a.get("rdev"));
            if (block) {
                describeBlockDevice(id.rdev, found);
            }
            found.addAll(processes(id));
        } catch (IOException | RuntimeException e) {
            found.add(new Holder(Kind.UNKNOWN, "(could not look for holders: " + e.getMessage() + ")"));
        }
        return found;
    }

    /** What to do about the holders {@link #describe} found, as an instruction. */
    static String advice(List<Holder> holders) {
        List<String> steps = new ArrayList<>();
        for (Kind k : Kind.values()) {
            if (k != Kind.UNKNOWN && holders.stream().anyMatch(h -> h.kind() == k)) {
                steps.add(k.remedy);
            }
        }
        return steps.isEmpty() ? Kind.UNKNOWN.remedy : String.join(", ", steps);
    }

    /** A file is the same file by device and inode; a block device by its device number. */
    private record Identity(boolean block, long dev, long ino, long rdev) {
        boolean matches(Map<String, Object> a) {
            if (block) {
                return ((Integer) a.get("mode") & S_IFMT) == S_IFBLK && (Long) a.get("rdev") == rdev;
            }
            return (Long) a.get("dev") == dev && (Long) a.get("ino") == ino;
        }
    }

    private static List<Holder> processes(Identity id) throws IOException {
        List<Holder> found = new ArrayList<>();
        long self = ProcessHandle.current().pid();
        try (DirectoryStream<Path> pids = Files.newDirectoryStream(PROC, p -> isNumber(p.getFileName().toString()))) {
            for (Path pidDir : pids) {
                if (hasOpen(pidDir.resolve("fd"), id)) {
                    long pid = Long.parseLong(pidDir.getFileName().toString());
                    found.add(new Holder(Kind.PROCESS, "pid " + pid + " (" + (pid == self ? "this process: " : "")
                            + command(pidDir) + ")"));
                    if (found.size() == PROCESSES_MAX) {
                        found.add(new Holder(Kind.PROCESS, "perhaps more"));
                        break;
                    }
                }
            }
        }
        return found;
    }

    private static boolean hasOpen(Path fdDir, Identity id) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(fdDir)) {
            for (Path fd : fds) {
                try {
                    // Follows the link to the open file itself, so renamed or deleted paths still match.
                    if (id.matches(Files.readAttributes(fd, "unix:mode,dev,ino,rdev"))) {
                        return true;
                    }
                } catch (IOException | RuntimeException closedMeanwhile) {
                    // a descriptor closed while we looked, or one we may not follow
                }
            }
        } catch (IOException | RuntimeException goneOrNotOurs) {
            // the process ended, or belongs to someone we may not look at
        }
        return false;
    }

    /**
     * The command line, shortened: a JVM is named by its main class and arguments, without its
     * options and class path.
     */
    static String command(Path pidDir) {
        List<String> argv = new ArrayList<>();
        try {
            for (String s : new String(Files.readAllBytes(pidDir.resolve("cmdline")), StandardCharsets.UTF_8)
                    .split("\0")) {
                if (!s.isEmpty()) {
                    argv.add(s);
                }
            }
            if (argv.isEmpty()) {
                return "[" + Files.readString(pidDir.resolve("comm")).strip() + "]";
            }
        } catch (IOException e) {
            return "?";
        }
        String c = String.join(" ", javaShortened(argv));
        return c.length() <= COMMAND_CHARS_MAX ? c : c.substring(0, COMMAND_CHARS_MAX) + "...";
    }

    private static List<String> javaShortened(List<String> argv) {
        if (!Path.of(argv.get(0)).getFileName().toString().equals("java")) {
            return argv;
        }
        Set<String> takeValue = Set.of("-cp", "-classpath", "--class-path", "-p", "--module-path", "--add-opens",
                "--add-exports", "--add-reads", "--add-modules");
        int i = 1;
        while (i < argv.size() && argv.get(i).startsWith("-") && !argv.get(i).equals("-jar")) {
            i += takeValue.contains(argv.get(i)) ? 2 : 1;
        }
        List<String> shortened = new ArrayList<>();
        shortened.add("java");
        shortened.addAll(argv.subList(Math.min(i, argv.size()), argv.size()));
        return shortened;
    }

    private static void describeBlockDevice(long rdev, List<Holder> found) throws IOException {
        String self = majorMinor(rdev);
        // The device itself and each of its partitions: "" or the partition's name.
        Map<String, String> devices = new LinkedHashMap<>();
        devices.put(self, "");
        Path sysDir = SYS_DEV_BLOCK.resolve(self);
        if (Files.isDirectory(sysDir)) {
            try (DirectoryStream<Path> subs = Files.newDirectoryStream(sysDir)) {
                for (Path sub : subs) {
                    if (Files.isRegularFile(sub.resolve("partition")) && Files.isRegularFile(sub.resolve("dev"))) {
                        devices.put(Files.readString(sub.resolve("dev")).strip(), sub.getFileName().toString());
                    }
                }
            }
        }
        Set<String> mounted = new HashSet<>();
        for (String line : Files.readAllLines(PROC.resolve("self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4 && devices.containsKey(f[2])) {
                String part = devices.get(f[2]);
                String at = (part.isEmpty() ? "" : "partition " + part + " ") + "mounted at " + unescape(f[4]);
                if (mounted.add(at)) {
                    found.add(new Holder(Kind.MOUNT, at));
                }
            }
        }
        for (Map.Entry<String, String> d : devices.entrySet()) {
            Path holders = SYS_DEV_BLOCK.resolve(d.getKey()).resolve("holders");
            if (Files.isDirectory(holders)) {
                try (DirectoryStream<Path> hs = Files.newDirectoryStream(holders)) {
                    for (Path h : hs) {
                        found.add(new Holder(Kind.KERNEL_DEVICE, (d.getValue().isEmpty() ? "" : "partition "
                                + d.getValue() + " ") + "held by the kernel device " + h.getFileName() + " (" + holders
                                + ")"));
                    }
                }
            }
        }
        Path swaps = PROC.resolve("swaps");
        if (Files.isReadable(swaps)) {
            for (String line : Files.readAllLines(swaps)) {
                String name = line.split("\\s+")[0];
                try {
                    if (name.startsWith("/") && isBlockDevice(Path.of(name))
                            && devices.containsKey(majorMinor((Long) Files.getAttribute(Path.of(name), "unix:rdev")))) {
                        found.add(new Holder(Kind.SWAP, name + " is in use as swap"));
                    }
                } catch (IOException | RuntimeException unreadable) {
                    // a swap entry we cannot stat is not ours to name
                }
            }
        }
    }

    /** "MAJOR:MINOR" of a Linux dev_t, as mountinfo and sysfs write it. */
    static String majorMinor(long rdev) {
        long major = ((rdev >>> 32) & 0xfffff000L) | ((rdev >>> 8) & 0xfffL);
        long minor = ((rdev >>> 12) & 0xffffff00L) | (rdev & 0xffL);
        return major + ":" + minor;
    }

    /** mountinfo escapes space, tab, newline and backslash as three octal digits. */
    private static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).chars().allMatch(d -> d >= '0' && d <= '7')) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.chars().allMatch(c -> c >= '0' && c <= '9');
    }
}
