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
        CommandLine cl = new CommandLine(new ReplCtl());
        for (String name : cl.getSubcommands().keySet()) {
            StringWriter out = new StringWriter();
            cl.setOut(new PrintWriter(out));
            assertEquals(0, cl.execute(name, "--help"), name);
            assertTrue(out.toString().startsWith("Usage: replctl " + name), out.toString());
        }
    }

    @Test
    void invalidateRemoteSaysWhatItDoesAndWhenItIsRefused() {
        CommandLine cl = new CommandLine(new ReplCtl());
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out));
        assertEquals(0, cl.execute("invalidate-remote", "--help"));
        String help = out.toString().replaceAll("\\s+", " ");
        assertTrue(help.contains("resync the peer's disk in full from this node"), help);
        assertTrue(help.contains("the peer not Primary"), help);
    }
}
