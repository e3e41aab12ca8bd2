package io.repl.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code replctl adjust} on two real agents: a handler and a resync ceiling added to the
 * running resource take effect; a change that needs down and up is refused naming the key;
 * a file that does not load is refused; either way the resource runs on as it was.
 */
class AdjustIT {
    private static final long DISK = 64L << 20;
    private static final long CEILING = 8L << 20;
    @TempDir
    Path dir;

    @Test
    void liveChangesTakeEffectAndTheOthersAreRefusedChangingNothing() throws Exception {
        try (PairFixture p = new PairFixture(dir, DISK, "C").startConnectedOnSockets()) {
            Path marker = dir.resolve("promoted");
            Path alphaFile = p.alpha.configDir.resolve("r0.toml");
            Path betaFile = p.beta.configDir.resolve("r0.toml");
            String original = Files.readString(alphaFile);

            Cmd.Result same = p.alpha.ctl("adjust", "r0").ok();
            assertTrue(same.out().contains("r0: nothing to change"), same.out());

            // A handler on alpha, a lower resync ceiling on beta (the SyncTarget paces a resync).
            Files.writeString(alphaFile, original + "[handlers]\nafter-promote = \"touch " + marker + "\"\n");
            Files.writeString(betaFile, Files.readString(betaFile) + "[disk]\nresync-rate-max = \"8M\"\n");
            Cmd.Result a = p.alpha.ctl("adjust", "r0").ok();
            assertTrue(a.out().contains("applied handlers.after-promote: (none) -> \"touch " + marker + "\""), a.out());
            Cmd.Result b = p.beta.ctl("adjust").ok();
            assertTrue(b.out().contains("disk.resync-rate-max: 4294967296 -> 8388608"), b.out());

            p.alpha.ctl("primary", "--force", "r0").ok();
            NbdClientsIT.waitFor(() -> Files.exists(marker), "the adjusted after-promote handler ran");
            NbdClientsIT.waitFor(() -> p.status(p.beta).path("sync").hasNonNull("controllerBytesPerSecond"),
                    "beta paces the initial sync");
            long controller = p.status(p.beta).path("sync").path("controllerBytesPerSecond").asLong();
            assertTrue(controller > 0 && controller <= CEILING, "the controller under the adjusted ceiling: "
                    + controller);
            p.waitSynced();

            // The protocol decides every write's acknowledgement: down and up, never live.
            Files.writeString(alphaFile, original.replace("protocol = \"C\"", "protocol = \"A\""));
            Cmd.Result refused = p.alpha.ctl("adjust", "r0");
            assertEquals(11, refused.exit(), refused.out() + refused.err());
            assertTrue(refused.err().contains("protocol: C -> A needs 'replctl down r0' and 'replctl up r0'; "
                    + "nothing was changed (adjust would apply: handlers.after-promote: \"touch " + marker
                    + "\" -> (none))"), refused.err());
            JsonNode still = p.status(p.alpha);
            assertEquals("C", still.path("protocol").asText());

            // A file that does not load: refused with the loader's words, the resource runs on.
            Files.writeString(alphaFile, original.replace("protocol = \"C\"", "protocol = \"Z\""));
            Cmd.Result bad = p.alpha.ctl("adjust", "r0");
            assertEquals(11, bad.exit(), bad.out() + bad.err());
            assertTrue(bad.err().contains("the file is not usable, nothing was changed") && bad.err().contains("protocol"),
                    bad.err());
            JsonNode after = p.status(p.alpha);
            assertEquals("Primary", after.path("role").asText());
            assertEquals("Connected", after.path("connection").asText());
            assertEquals("UpToDate", after.path("disk").asText());
            Cmd.run("nbdinfo", p.uri(p.alpha)).ok();
            // The handler adjusted in is still in force: the refused files changed nothing.
            Files.delete(marker);
            p.alpha.ctl("secondary", "r0").ok();
            p.alpha.ctl("primary", "r0").ok();
            NbdClientsIT.waitFor(() -> Files.exists(marker), "the handler still in force after the refusals");
        }
    }
}
