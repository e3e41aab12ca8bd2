package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fs-hooks/handlers/crm-fence-peer and crm-unfence-peer against a stand-in cibadmin that keeps
 * one constraint in a file (and can be told to fail): the constraint they write, the exit
 * codes repl acts on, and what happens when the CIB cannot be changed. PacemakerFailoverIT
 * runs them against a real cluster.
 */
class CrmFenceHandlersTest {
    private static final Path HANDLERS = AgentProcess.ROOT.resolve("fs-hooks/handlers");

    @TempDir
    Path dir;
    private Path constraint;
    private Path failFlag;

    @BeforeEach
    void fakeCluster() throws Exception {
        constraint = dir.resolve("constraint.xml");
        failFlag = dir.resolve("fail");
        Path bin = Files.createDirectories(dir.resolve("bin"));
        write(bin.resolve("crm_node"), "#!/bin/sh\necho node2\n");
        write(bin.resolve("cibadmin"), String.join("\n",
                "#!/bin/sh",
                "[ -e " + failFlag + " ] && { echo 'cibadmin: Connection to the CIB manager failed' >&2; exit 102; }",
                "case \"$*\" in",
                "*\"--xpath //clone\"*) echo '<clone id=\"repl-r0-clone\">'; echo '  <primitive id=\"repl-r0\" "
                        + "class=\"ocf\" provider=\"repl\" type=\"repl\">'; exit 0 ;;",
                "*\"--xpath //rsc_location\"*) [ -e " + constraint + " ] && { cat " + constraint + "; exit 0; }; exit 105 ;;",
                "*\"-Q -o constraints\"*) echo '<constraints>'; [ -e " + constraint + " ] && cat " + constraint
                        + "; echo '</constraints>'; exit 0 ;;",
                "esac",
                "while [ $# -gt 0 ]; do",
                "  case \"$1\" in",
                "  -C|-R) op=$1 ;;",
                "  -D) op=-D ;;",
                "  -X) xml=$2; shift ;;",
                "  esac; shift",
                "done",
                "echo \"$op\" >> " + dir.resolve("cibadmin.log"),
                "case \"$op\" in",
                "-C) [ -e " + constraint + " ] && exit 76; printf '%s' \"$xml\" > " + constraint + " ;;",
                "-R) printf '%s' \"$xml\" > " + constraint + " ;;",
                "-D) rm -f " + constraint + " ;;",
                "esac",
                ""));
    }

    private static void write(Path p, String text) throws Exception {
        Files.writeString(p, text);
        assertTrue(p.toFile().setExecutable(true));
    }

    private Cmd.Result run(String handler, String... args) throws Exception {
        String[] argv = new String[args.length + 1];
        argv[0] = HANDLERS.resolve(handler).toString();
        System.arraycopy(args, 0, argv, 1, args.length);
        return Cmd.run(Map.of("PATH", dir.resolve("bin") + ":/usr/bin:/bin", "REPL_RESOURCE", "r0",
                "REPL_PEER", "node1"), 30, argv);
    }

    @Test
    void fencePeerAddsAConstraintThatOnlyThisNodeMayBePromotedAndExits4() throws Exception {
        Cmd.Result r = run("crm-fence-peer");
        assertEquals(4, r.exit(), r.err());
        String xml = Files.readString(constraint);
        assertTrue(xml.contains("<rsc_location id=\"repl-fence-by-handler-r0-repl-r0-clone\" rsc=\"repl-r0-clone\">"), xml);
        assertTrue(xml.contains("role=\"Promoted\" score=\"-INFINITY\""), xml);
        assertTrue(xml.contains("attribute=\"#uname\" operation=\"ne\" value=\"node2\""), xml);

        // Fencing again replaces the constraint and still says the peer is outdated.
        assertEquals(4, run("crm-fence-peer", "--node", "node2").exit());
        assertEquals("-C\n-R\n", Files.readString(dir.resolve("cibadmin.log")));

        assertEquals(0, run("crm-unfence-peer").exit());
        assertFalse(Files.exists(constraint));
        assertEquals(0, run("crm-unfence-peer").exit(), "nothing to remove is no error");
    }

    @Test
    void aCibThatCannotBeChangedIsNoFence() throws Exception {
        Files.writeString(failFlag, "");
        Cmd.Result r = run("crm-fence-peer", "--clone-id", "repl-r0-clone");
        assertEquals(1, r.exit(), "not 4: repl must keep writes held and refuse the promotion");
        assertTrue(r.err().contains("could not add"), r.err());
        assertEquals(1, run("crm-fence-peer").exit(), "no clone found without the CIB");
        assertFalse(Files.exists(constraint));
    }
}
