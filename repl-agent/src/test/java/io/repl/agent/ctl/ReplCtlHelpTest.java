package io.repl.agent.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ReplCtlHelpTest {

    @Test
    void everySubcommandAnswersHelpWithoutAnAgent() {
        CommandLine cl = ReplCtl.commandLine(new String[0]);
        for (String name : cl.getSubcommands().keySet()) {
            StringWriter out = new StringWriter();
            cl.setOut(new PrintWriter(out));
            assertEquals(0, cl.execute(name, "--help"), name);
            assertTrue(out.toString().startsWith("Usage: replctl " + name), out.toString());
        }
    }

    @Test
    void everySubcommandIsRegisteredWhenNoneOrAnUnknownOneIsNamed() {
        assertEquals(ReplCtl.SUBCOMMANDS.size(), ReplCtl.commandLine(new String[0]).getSubcommands().size());
        assertEquals(ReplCtl.SUBCOMMANDS.size(),
                ReplCtl.commandLine(new String[] {"--control-socket", "/x", "stauts"}).getSubcommands().size());
    }

    @Test
    void onlyTheNamedSubcommandIsBuiltAndItStillInheritsTheSocketOption() {
        String[] args = {"--control-socket", "/tmp/nowhere.sock", "status", "--help"};
        CommandLine cl = ReplCtl.commandLine(args);
        assertEquals(java.util.Set.of("status"), cl.getSubcommands().keySet());
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out));
        assertEquals(0, cl.execute(args));
        assertTrue(out.toString().startsWith("Usage: replctl status"), out.toString());
        assertTrue(out.toString().contains("--control-socket"), out.toString());
    }

    @Test
    void anUnknownSubcommandIsAUsageErrorThatNamesTheRealOnes() {
        String[] args = {"stauts"};
        CommandLine cl = ReplCtl.commandLine(args);
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        assertEquals(2, cl.execute(args));
        assertTrue(err.toString().contains("status"), err.toString());
    }

    @Test
    void invalidateRemoteSaysWhatItDoesAndWhenItIsRefused() {
        CommandLine cl = ReplCtl.commandLine(new String[0]);
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out));
        assertEquals(0, cl.execute("invalidate-remote", "--help"));
        String help = out.toString().replaceAll("\\s+", " ");
        assertTrue(help.contains("resync the peer's disk in full from this node"), help);
        assertTrue(help.contains("the peer not Primary"), help);
    }
}
