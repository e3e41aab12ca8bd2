package io.repl.agent.it;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Hosts on one Ethernet segment, each a network namespace: a switch namespace
 * {@code sw-TAG} holds a Linux bridge, and every host namespace {@code repl-NAME-TAG} has an
 * {@code eth0} that is one end of a veth pair whose other end is a port of that bridge. Host
 * i (in creation order) has the address {@code 10.NET.0.(i+1)/24}. TAG and NET are random,
 * so test classes that run at the same time never share a namespace name; addresses never
 * clash anyway, as every segment lives in namespaces of its own.
 *
 * <p>Partitions are iptables DROP rules inside the host namespaces, by peer address, so
 * every other pair keeps talking: {@link #cut} drops both directions between two hosts,
 * {@link #cutOneWay} only the packets from one to the other. Every rule added is tracked
 * and removed with {@code iptables -D} of the same rule by {@link #heal} and
 * {@link #healAll}.
 *
 * <p>{@link #close} deletes every namespace it created, whatever state the test left, and
 * may be called again. Close the agents first: a namespace with a process still in it lives
 * on, unnamed, until that process exits.
 */
final class NetnsHosts implements AutoCloseable {
    final String tag;
    final int net;
    private final String switchNs;
    /** Host name to its index, in creation order. */
    private final Map<String, Integer> hosts = new LinkedHashMap<>();
    /** The rules in force, in the order they were added. */
    private final Set<Rule> rules = new LinkedHashSet<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final List<String> created = new ArrayList<>();
    private final Thread cleanupOnExit = new Thread(this::closeQuietly, "netns-cleanup");
    private boolean closed;

    /** One DROP rule in one namespace, for one unordered pair of hosts. */
    private record Rule(String ns, String chain, String direction, String address, String a, String b) {
        String[] argv(String op) {
            return new String[] {"ip", "netns", "exec", ns, "iptables", "-w", op, chain, direction, address + "/32",
                    "-j", "DROP"};
        }

        boolean between(String x, String y) {
            return (a.equals(x) && b.equals(y)) || (a.equals(y) && b.equals(x));
        }

        @Override
        public String toString() {
            return ns + ": " + chain + " " + direction + " " + address + " DROP";
        }
    }

    private NetnsHosts(String tag, int net, List<String> names) {
        this.tag = tag;
        this.net = net;
        this.switchNs = "sw-" + tag;
        for (String n : names) {
            if (hosts.put(n, hosts.size()) != null) {
                throw new IllegalArgumentException("host " + n + " named twice");
            }
        }
    }

    /** Skips the calling test unless it runs as root with iproute2 and iptables. */
    static void assumeAvailable() {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for network namespaces");
        assumeTrue(Cmd.available("ip") && Cmd.available("iptables"), "needs iproute2 and iptables");
    }

    /**
     * Creates the switch and one host per name, all up; skips the calling test (JUnit
     * assumption) when not root or when ip or iptables is missing. On a failure half way
     * everything created so far is deleted again.
     */
    static NetnsHosts create(String... hostNames) throws Exception {
        assumeAvailable();
        if (hostNames.length == 0 || hostNames.length > 250) {
            throw new IllegalArgumentException("1 to 250 hosts, not " + hostNames.length);
        }
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        NetnsHosts h = null;
        // A random tag names the namespaces; on the off chance it is taken, draw another.
        for (int attempt = 0; h == null; attempt++) {
            String tag = Integer.toString(rnd.nextInt(36 * 36 * 36 * 36, 36 * 36 * 36 * 36 * 36), 36);
            NetnsHosts candidate = new NetnsHosts(tag, rnd.nextInt(100, 250), List.of(hostNames));
            if (Cmd.run("ip", "netns", "add", candidate.switchNs).exit() == 0) {
                h = candidate;
                h.created.add(h.switchNs);
            } else if (attempt == 5) {
                throw new AssertionError("cannot create a switch namespace: ip netns add failed 6 times");
            }
        }
        Runtime.getRuntime().addShutdownHook(h.cleanupOnExit);
        try {
            h.build();
            return h;
        } catch (Throwable t) {
            h.closeQuietly();
            throw t;
        }
    }

    private void build() throws Exception {
        sh("ip", "-n", switchNs, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0");
        sh("ip", "-n", switchNs, "link", "set", "br0", "up");
        for (Map.Entry<String, Integer> e : hosts.entrySet()) {
            String ns = ns(e.getKey());
            String port = "p" + e.getValue();
            sh("ip", "netns", "add", ns);
            created.add(ns);
            // Both ends are created where they belong, so nothing appears in the root namespace
            // even for a moment, and interface names only need to be unique per namespace.
            sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", switchNs);
            sh("ip", "-n", switchNs, "link", "set", port, "master", "br0");
            sh("ip", "-n", switchNs, "link", "set", port, "up");
            sh("ip", "-n", ns, "addr", "add", ip(e.getKey()) + "/24", "dev", "eth0");
            sh("ip", "-n", ns, "link", "set", "lo", "up");
            sh("ip", "-n", ns, "link", "set", "eth0", "up");
        }
    }

    private static Cmd.Result sh(String... argv) throws Exception {
        return Cmd.run(Map.of(), 60, argv).ok();
    }

    private int index(String host) {
        Integer i = hosts.get(host);
        if (i == null) {
            throw new IllegalArgumentException("no host " + host + " (have " + hosts.keySet() + ")");
        }
        return i;
    }

    /** The hosts, in creation order. */
    List<String> hosts() {
        return List.copyOf(hosts.keySet());
    }

    /** The network namespace of {@code host}, for {@code ip netns exec} and AgentProcess. */
    String ns(String host) {
        index(host);
        return "repl-" + host + "-" + tag;
    }

    /** The address of {@code host} on the segment. */
    String ip(String host) {
        return "10." + net + ".0." + (index(host) + 1);
    }

    String switchNs() {
        return switchNs;
    }

    /**
     * A full partition between {@code a} and {@code b}: each drops what comes from the other
     * and what it would send to it. TCP takes the drops as loss (a connect() hangs until its
     * deadline, a connection's segments are retransmitted until the agent's own timeouts end
     * it); a UDP send fails at once with EPERM. For a partition that is silent even to UDP
     * senders, use {@link #cutOneWay} in both directions.
     */
    synchronized void cut(String a, String b) throws Exception {
        distinct(a, b);
        add(new Rule(ns(a), "INPUT", "-s", ip(b), a, b));
        add(new Rule(ns(a), "OUTPUT", "-d", ip(b), a, b));
        add(new Rule(ns(b), "INPUT", "-s", ip(a), a, b));
        add(new Rule(ns(b), "OUTPUT", "-d", ip(a), a, b));
    }

    /**
     * Drops only the packets from {@code from} to {@code to}, on arrival in {@code to}; the
     * other direction is untouched. A TCP handshake then fails both ways: a SYN from
     * {@code from} is dropped, and so is the SYN-ACK answering a SYN from {@code to}.
     */
    synchronized void cutOneWay(String from, String to) throws Exception {
        distinct(from, to);
        add(new Rule(ns(to), "INPUT", "-s", ip(from), from, to));
    }

    private static void distinct(String a, String b) {
        if (a.equals(b)) {
            throw new IllegalArgumentException("a host cannot be cut from itself: " + a);
        }
    }

    private void add(Rule r) throws Exception {
        // A cut that is already in force is not added twice, so one heal always undoes it.
        if (!rules.contains(r)) {
            sh(r.argv("-I"));
            rules.add(r);
        }
    }

    /** Removes every rule between {@code a} and {@code b}, both ways, full and one-way cuts alike. */
    synchronized void heal(String a, String b) throws Exception {
        distinct(a, b);
        index(a);
        index(b);
        remove(rules.stream().filter(r -> r.between(a, b)).toList());
    }

    /** Removes every rule this segment added. */
    synchronized void healAll() throws Exception {
        remove(List.copyOf(rules));
    }

    private void remove(List<Rule> which) throws Exception {
        List<String> failures = new ArrayList<>();
        for (Rule r : which) {
            Cmd.Result res = Cmd.run(Map.of(), 60, r.argv("-D"));
            if (res.exit() == 0) {
                rules.remove(r);
            } else {
                failures.add(r + ": " + res.err().trim());
            }
        }
        if (!failures.isEmpty()) {
            throw new AssertionError("could not remove " + failures);
        }
    }

    /** The rules in force, for messages. */
    synchronized List<String> rules() {
        return rules.stream().map(Rule::toString).toList();
    }

    /**
     * True if a TCP connection from inside {@code ns} (null: this namespace) to
     * {@code address:port} completes its handshake within {@code timeout}. Uses bash's
     * {@code /dev/tcp}, so it needs nothing beyond bash and coreutils' {@code timeout}.
     */
    static boolean tcpConnectsIn(String ns, String address, int port, Duration timeout) throws Exception {
        if (ns == null) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(address, port), (int) Math.max(1, timeout.toMillis()));
                return true;
            } catch (IOException e) {
                return false;
            }
        }
        String secs = String.format(Locale.ROOT, "%.3f", timeout.toMillis() / 1000.0);
        int limit = (int) timeout.toSeconds() + 30;
        return Cmd.run(Map.of(), limit, "ip", "netns", "exec", ns, "timeout", "-k", "1", secs, "bash", "-c",
                "exec 3<>/dev/tcp/$0/$1", address, Integer.toString(port)).exit() == 0;
    }

    /** True if {@code from} can open a TCP connection to {@code to}'s {@code port} within {@code timeout}. */
    boolean tcpConnects(String from, String to, int port, Duration timeout) throws Exception {
        return tcpConnectsIn(ns(from), ip(to), port, timeout);
    }

    /**
     * Sends one UDP datagram from {@code from} to {@code to}'s {@code port}; false if the send
     * itself failed (an OUTPUT rule in {@code from} makes it fail with EPERM).
     */
    boolean sendUdp(String from, String to, int port, String payload) throws Exception {
        return Cmd.run(Map.of(), 30, "ip", "netns", "exec", ns(from), "bash", "-c", "printf %s \"$2\" >/dev/udp/$0/$1",
                ip(to), Integer.toString(port), payload).exit() == 0;
    }

    /**
     * True if {@code host} has a TCP connection from {@code peer} stuck half open (SYN-RECV):
     * the peer's SYN arrived, and the SYN-ACK has not been answered.
     */
    boolean halfOpenFrom(String host, String peer) throws Exception {
        String out = sh("ip", "netns", "exec", ns(host), "ss", "-Htn", "state", "syn-recv").out();
        for (String line : out.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[f.length - 1].startsWith(ip(peer) + ":")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Starts a listener on {@code port} (TCP and UDP, all addresses) inside {@code host}, and
     * waits until it is bound. It is a small JVM on this test's classes ({@link Listener}),
     * because the CI machine has no netcat or socat; it reports every connection and datagram
     * on its stdout, and exits when this JVM goes away or the handle is closed.
     */
    Listener listen(String host, int port) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classes = Path.of(Listener.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString();
        Process p = new ProcessBuilder("ip", "netns", "exec", ns(host), java, "-Xmx32m", "-XX:TieredStopAtLevel=1",
                "-Djava.net.preferIPv4Stack=true",
                "-cp", classes, Listener.class.getName(), Integer.toString(port)).redirectErrorStream(true).start();
        Listener l = new Listener(host, port, p);
        listeners.add(l);
        try {
            l.await("listening", Duration.ofSeconds(30));
        } catch (Throwable t) {
            l.close();
            throw t;
        }
        return l;
    }

    /**
     * A TCP and UDP listener running inside a host namespace; its {@link #main} is the
     * process, the rest is the handle the test holds.
     */
    static final class Listener implements AutoCloseable {
        final String host;
        final int port;
        private final Process process;
        /** Lines the process printed: "listening", "tcp FROM", "udp FROM PAYLOAD". */
        private final List<String> events = new CopyOnWriteArrayList<>();
        private final Thread reader;

        private Listener(String host, int port, Process process) {
            this.host = host;
            this.port = port;
            this.process = process;
            reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        events.add(line);
                        synchronized (events) {
                            events.notifyAll();
                        }
                    }
                } catch (IOException ignored) {
                    // the process is gone
                }
                synchronized (events) {
                    events.notifyAll();
                }
            }, "listener-" + host + "-" + port);
            reader.setDaemon(true);
            reader.start();
        }

        List<String> events() {
            return List.copyOf(events);
        }

        /** True if the listener has printed {@code line} exactly. */
        boolean saw(String line) {
            return events.contains(line);
        }

        /** Waits until the listener prints {@code line} exactly. */
        void await(String line, Duration max) throws InterruptedException {
            long deadline = System.nanoTime() + max.toNanos();
            synchronized (events) {
                while (!events.contains(line)) {
                    long left = deadline - System.nanoTime();
                    // Its output ends only when it exits: nothing more will come.
                    if (left <= 0 || !reader.isAlive()) {
                        throw new AssertionError("listener on " + host + ":" + port + " did not print \"" + line
                                + "\" within " + max + (reader.isAlive() ? "" : " (it exited)") + "; it printed "
                                + events);
                    }
                    TimeUnit.NANOSECONDS.timedWait(events, left);
                }
            }
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }

        /** The listener process: {@code Listener PORT}. */
        public static void main(String[] args) throws Exception {
            int port = Integer.parseInt(args[0]);
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            ServerSocket tcp = new ServerSocket();
            tcp.setReuseAddress(true);
            tcp.bind(new InetSocketAddress(port));
            DatagramSocket udp = new DatagramSocket(port);
            Thread udpThread = new Thread(() -> {
                byte[] buf = new byte[2048];
                try {
                    while (true) {
                        DatagramPacket d = new DatagramPacket(buf, buf.length);
                        udp.receive(d);
                        out.println("udp " + d.getAddress().getHostAddress() + " "
                                + new String(buf, 0, d.getLength(), StandardCharsets.UTF_8));
                    }
                } catch (IOException e) {
                    System.exit(1);
                }
            });
            udpThread.setDaemon(true);
            udpThread.start();
            // The parent closes our stdin when it goes away, whatever way it goes.
            Thread orphan = new Thread(() -> {
                try {
                    while (System.in.read() >= 0) {
                        // nothing is ever sent on stdin
                    }
                } catch (IOException ignored) {
                    // the pipe broke: same thing
                }
                System.exit(0);
            });
            orphan.setDaemon(true);
            orphan.start();
            out.println("listening");
            while (true) {
                try (Socket s = tcp.accept()) {
                    out.println("tcp " + s.getInetAddress().getHostAddress());
                }
            }
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (Exception ignored) {
            // best effort, from a failure path or the JVM's exit
        }
    }

    /** Deletes every namespace this segment created (the veth pairs go with them); idempotent. */
    @Override
    public synchronized void close() throws Exception {
        if (closed) {
            return;
        }
        closed = true;
        for (Listener l : listeners) {
            l.close();
        }
        List<String> failures = new ArrayList<>();
        // Hosts first, the switch last: an interrupted build may have left only some of them.
        List<String> order = new ArrayList<>(created);
        java.util.Collections.reverse(order);
        for (String ns : order) {
            Cmd.Result r = Cmd.run(Map.of(), 60, "ip", "netns", "del", ns);
            if (r.exit() != 0 && Cmd.run("ip", "netns", "list").out().contains(ns)) {
                failures.add(ns + ": " + r.err().trim());
            }
        }
        rules.clear();
        if (Thread.currentThread() != cleanupOnExit) {
            try {
                Runtime.getRuntime().removeShutdownHook(cleanupOnExit);
            } catch (IllegalStateException exiting) {
                // the JVM is shutting down: the hook is running or will
            }
        }
        if (!failures.isEmpty()) {
            throw new AssertionError("could not delete namespaces " + failures);
        }
    }

    @Override
    public String toString() {
        return "segment " + tag + " 10." + net + ".0.0/24 " + hosts.keySet() + " cut " + rules();
    }
}
