package io.repl.agent.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.agent.AgentMain;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code --help} works on replctl, on each of its commands, and on repl-agent: exit 0 and a usage. */
class HelpTest {

    @Test
    void everyReplctlCommandAnswersHelpWithItsUsage() {
        CommandLine root = new CommandLine(new ReplCtl());
        assertTrue(root.getSubcommands().size() >= 20, root.getSubcommands().keySet().toString());
        assertHelp(new CommandLine(new ReplCtl()), new String[] {"--help"}, "Usage: replctl ");
        for (String name : root.getSubcommands().keySet()) {
            assertHelp(new CommandLine(new ReplCtl()), new String[] {name, "--help"}, "Usage: replctl " + name);
        }
        assertTrue(root.getSubcommands().containsKey("adjust"));
    }

    @Test
    void theAgentAnswersHelpWithItsOptions() {
        String out = assertHelp(new CommandLine(new AgentMain()), new String[] {"--help"}, "Usage: repl-agent ");
        assertTrue(out.contains("--metrics-listen=HOST:PORT"), out);
    }

    private static String assertHelp(CommandLine cl, String[] args, String usage) {
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out));
        int exit = cl.execute(args);
        assertEquals(0, exit, String.join(" ", args));
        assertTrue(out.toString().startsWith(usage), String.join(" ", args) + ":\n" + out);
        return out.toString();
    }
}
