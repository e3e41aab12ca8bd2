package io.repl.agent.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.agent.AgentMain;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** The hand-read command line takes exactly what picocli takes, and runs it as picocli runs it. */
class ClientArgsTest {
    private static final Set<String> INHERITED = Set.of("-h", "--help", "-V", "--version", "--control-socket");

    private static String[] a(String... args) {
        return args;
    }

    @Test
    void theCommonCommandLinesAreReadByHand() {
        ClientArgs s = ClientArgs.parse(a("status"));
        assertEquals("status", s.command);
        assertNull(s.resource);
        assertEquals(Path.of(AgentMain.DEFAULT_CONTROL_SOCKET), s.socket);
        s = ClientArgs.parse(a("--control-socket", "/x.sock", "status", "r0", "--json"));
        assertEquals(Path.of("/x.sock"), s.socket);
        assertEquals("r0", s.resource);
        assertEquals(Map.of("--json", ""), s.given);
        s = ClientArgs.parse(a("primary", "--force", "r0", "--control-socket=/y.sock"));
        assertEquals(Path.of("/y.sock"), s.socket);
        assertEquals(Map.of("--force", ""), s.given);
        s = ClientArgs.parse(a("resize", "r0", "--size=96G", "--assume-clean"));
        assertEquals(Map.of("--size", "96G", "--assume-clean", ""), s.given);
        s = ClientArgs.parse(a("wait-sync", "r0", "--timeout", "30"));
        assertEquals(Map.of("--timeout", "30"), s.given);
        s = ClientArgs.parse(a("status", "--watch", "--json"));
        assertEquals(Map.of("--watch", "", "--json", ""), s.given);
        for (String c : List.of("up", "down", "secondary", "connect", "disconnect", "dump-md", "verify", "adjust")) {
            assertNotNull(ClientArgs.parse(a(c, "r0")), c);
        }
        assertNotNull(ClientArgs.parse(a("new-current-uuid", "--clear-bitmap", "r0")));
        assertNotNull(ClientArgs.parse(a("adjust")));
    }

    /** Declined command lines; picocli then answers each of them, most with its usage error (exit 2). */
    private static final List<String[]> USAGE_ERRORS = List.of(
            a("status", "--bogus"), a("primary", "r0", "--froce"), a("up"), a("up", "r0", "r1"),
            a("primary", "--force", "--force", "r0"), a("--force", "primary", "r0"),
            a("secondary", "r0", "--json"), a("status", "--control-socket"), a("wait-sync", "r0", "--timeout", "soon"),
            a("wait-connect", "r0", "--timeout"), a("resize", "r0", "--size", "--force"), a("new-current-uuid", "r0"),
            a("--control-socket", "/a", "--control-socket", "/b", "status"), a("connect", "r0", "--force"),
            a("verify", "r0", "--start"), a("stauts"), a("down", "-x", "r0"), a("dump-md", "r0", "--force"),
            a("status", "r0", "r1"), a("--json", "status"));

    @Test
    void aBadOptionOrValueIsDeclinedAndPicocliRefusesItWithExit2NamingIt() {
        for (String[] args : USAGE_ERRORS) {
            String line = String.join(" ", args);
            assertNull(ClientArgs.parse(args), line);
            StringWriter err = new StringWriter();
            CommandLine cl = ReplCtl.commandLine(args);
            cl.setErr(new PrintWriter(err));
            cl.setOut(new PrintWriter(new StringWriter()));
            assertEquals(2, cl.execute(args), line + ": " + err);
            assertTrue(err.toString().contains("Usage: replctl") || err.toString().contains("Did you mean"),
                    line + ": " + err);
        }
    }

    @Test
    void helpVersionEventsArgumentFilesEndOfOptionsAndRareSpellingsAreLeftToPicocli() {
        for (String[] args : List.of(a("--help"), a("status", "--help"), a("primary", "-h", "r0"), a("-V"),
                a("--version"), a("events"), a("events", "r0"), a("status", "@args"), a("@args"), a("--", "status"),
                a("status", "--", "r0"), a(), a("up", ""), a("--control-socket=", "status"),
                a("status", "--json=true"))) {
            assertNull(ClientArgs.parse(args), String.join(" ", args));
        }
    }

    @Test
    void eachCommandHasExactlyTheOptionsAndResourceItHasInPicocli() {
        CommandLine all = ReplCtl.commandLine(new String[0]);
        Set<String> readByHand = new HashSet<>(all.getSubcommands().keySet());
        readByHand.remove("events");
        assertEquals(readByHand, ClientArgs.COMMANDS.keySet());
        for (String name : readByHand) {
            CommandSpec spec = all.getSubcommands().get(name).getCommandSpec();
            List<String> options = new ArrayList<>();
            Set<String> required = new HashSet<>();
            for (OptionSpec o : spec.options()) {
                String n = o.longestName();
                if (!INHERITED.contains(n)) {
                    options.add(n + (o.arity().max() > 0 ? "=" : ""));
                    if (o.required()) {
                        required.add(n);
                    }
                }
            }
            assertEquals(new HashSet<>(options), new HashSet<>(ClientArgs.COMMANDS.get(name)), name);
            String mustHave = ClientArgs.REQUIRED.get(name);
            assertEquals(required, mustHave == null ? Set.of() : Set.of(mustHave), name);
            int minResources = spec.positionalParameters().get(0).arity().min();
            assertEquals(minResources == 0, ClientArgs.RESOURCE_OPTIONAL.contains(name), name);
        }
    }

    /** An agent on a socket in {@code dir} that answers each request by its command; the requests it got. */
    private static List<JsonTree> fakeAgent(Path sock, int requests) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(sock));
        List<JsonTree> got = new ArrayList<>();
        Thread t = new Thread(() -> {
            try (server) {
                for (int i = 0; i < requests; i++) {
                    try (SocketChannel ch = server.accept()) {
                        ByteBuffer in = ByteBuffer.allocate(4096);
                        while (in.position() == 0 || in.get(in.position() - 1) != '\n') {
                            ch.read(in);
                        }
                        JsonTree req = ClientJson.parse(new String(in.array(), 0, in.position(),
                                StandardCharsets.UTF_8));
                        synchronized (got) {
                            got.add(req);
                        }
                        ch.write(ByteBuffer.wrap(reply(req.path("command").asText()).getBytes(StandardCharsets.UTF_8)));
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        t.setDaemon(true);
        t.start();
        return got;
    }

    private static String reply(String command) {
        String status = "{\"name\":\"r0\",\"role\":\"Secondary\",\"disk\":\"UpToDate\",\"connection\":\"Connected\","
                + "\"replication\":\"Established\",\"peer\":{\"name\":\"beta\",\"role\":\"Primary\",\"disk\":\"UpToDate\"},"
                + "\"outOfSyncBytes\":0,\"nbd\":\"nbd+unix:///r0?socket=/s\",\"clients\":0,\"adjusted\":[\"resync rate\"]}";
        switch (command) {
            case "primary":
                return "{\"exit\":17,\"error\":\"no up-to-date data\"}";
            case "secondary":
                return "{\"exit\":11}";
            default:
                return "{\"exit\":0,\"result\":{\"resources\":[" + status + "]}}";
        }
    }

    private record Outcome(int exit, String out, String err) {}

    @Test
    void bothWaysSendTheSameRequestAndPrintTheSameOutcome(@TempDir Path dir) throws Exception {
        List<String[]> lines = List.of(a("status"), a("status", "r0", "--json"), a("primary", "r0", "--force"),
                a("secondary", "r0"), a("adjust"), a("dump-md", "r0"), a("create-md", "--force", "r0"),
                a("connect", "r0", "--discard-my-data"), a("new-current-uuid", "r0", "--clear-bitmap"),
                a("resize", "r0", "--size", "1G", "--force"), a("verify", "r0", "--start=64M"),
                a("resume-io", "r0"), a("wait-sync", "r0", "--timeout", "5"), a("wait-connect", "r0"), a("up", "r0"),
                a("resize", "r0", "--size", "huge"), a("verify", "r0", "--start", "x"));
        for (String[] line : lines) {
            Map<String, Outcome> outcomes = new TreeMap<>();
            Map<String, List<JsonTree>> requests = new TreeMap<>();
            for (String way : List.of("hand", "picocli")) {
                Path sock = dir.resolve(way + lines.indexOf(line) + ".sock");
                List<String> args = new ArrayList<>(List.of(line));
                args.add("--control-socket=" + sock);
                String[] argv = args.toArray(new String[0]);
                List<JsonTree> got = fakeAgent(sock, 1);
                StringWriter out = new StringWriter();
                StringWriter err = new StringWriter();
                int exit;
                if (way.equals("hand")) {
                    exit = ClientArgs.parse(argv).run(new PrintWriter(out), new PrintWriter(err));
                } else {
                    assertNotNull(ClientArgs.parse(argv));
                    CommandLine cl = ReplCtl.commandLine(argv);
                    cl.setOut(new PrintWriter(out));
                    cl.setErr(new PrintWriter(err));
                    exit = cl.execute(argv);
                }
                outcomes.put(way, new Outcome(exit, out.toString(), err.toString()));
                synchronized (got) {
                    requests.put(way, List.copyOf(got));
                }
                Files.deleteIfExists(sock);
            }
            String what = String.join(" ", line);
            assertEquals(outcomes.get("picocli"), outcomes.get("hand"), what);
            assertEquals(requests.get("picocli"), requests.get("hand"), what);
        }
    }

    @Test
    void withoutAnAgentBothWaysSayHowToReachOneAndExit10(@TempDir Path dir) {
        String[] argv = a("status", "--control-socket", dir.resolve("none.sock").toString());
        StringWriter hand = new StringWriter();
        assertEquals(10, ClientArgs.parse(argv).run(new PrintWriter(new StringWriter()), new PrintWriter(hand)));
        StringWriter picocli = new StringWriter();
        CommandLine cl = ReplCtl.commandLine(argv);
        cl.setErr(new PrintWriter(picocli));
        assertEquals(10, cl.execute(argv));
        assertEquals(picocli.toString(), hand.toString());
        assertTrue(hand.toString().contains("cannot reach the repl agent"), hand.toString());
    }
}
