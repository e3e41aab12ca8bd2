package io.repl.agent.ctl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes bash completion for replctl, with every subcommand and option, to the file named by
 * its argument: the build runs it for the tarball ({@code completion/replctl}).
 */
public final class Completion {
    private Completion() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: Completion FILE");
            System.exit(2);
        }
        Files.writeString(Path.of(args[0]), script());
    }

    /** The script, built from the command line replctl uses when no subcommand is named. */
    static String script() {
        return picocli.AutoComplete.bash("replctl", ReplCtl.commandLine(new String[0]));
    }
}
