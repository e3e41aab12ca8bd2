package io.repl.agent.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.repl.agent.AgentMain;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code --help} of replctl itself and of repl-agent (each subcommand's is in ReplCtlHelpTest),
 * and the completion script, which knows every subcommand.
 */
class HelpTest {

    @Test
    void replctlHelpListsEveryCommandAdjustIncluded() {
        String out = help(ReplCtl.commandLine(new String[] {"--help"}), "Usage: replctl ");
        for (Class<?> c : ReplCtl.SUBCOMMANDS) {
            String name = c.getAnnotation(CommandLine.Command.class).name();
            assertTrue(out.contains("  " + name + " "), name + " in\n" + out);
        }
        assertTrue(out.contains("  adjust "), out);
    }

    @Test
    void theAgentAnswersHelpWithItsOptions() {
        String out = help(new CommandLine(new AgentMain()), "Usage: repl-agent ");
        assertTrue(out.contains("--metrics-listen=HOST:PORT"), out);
    }

    @Test
    void theCompletionScriptCompletesEverySubcommand() {
        String script = Completion.script();
        for (Class<?> c : ReplCtl.SUBCOMMANDS) {
            String name = c.getAnnotation(CommandLine.Command.class).name();
            assertTrue(script.contains(" " + name), name);
        }
    }

    private static String help(CommandLine cl, String usage) {
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out));
        assertEquals(0, cl.execute("--help"));
        assertTrue(out.toString().startsWith(usage), out.toString());
        return out.toString();
    }
}
