package io.repl.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SdNotifyTest {
    @TempDir
    Path dir;

    @Test
    void aPathAndAnAbstractNameGetTheAddressesTheKernelExpects() {
        byte[] path = SdNotify.sockaddr("/run/n");
        assertEquals(2 + 6 + 1, path.length, "family, the path, its terminating NUL");
        assertEquals(0, path[path.length - 1]);
        byte[] abs = SdNotify.sockaddr("@n/x");
        assertEquals(2 + 1 + 3, abs.length, "family, a leading NUL, the name without a terminator");
        assertArrayEquals(new byte[] {0, 'n', '/', 'x'}, java.util.Arrays.copyOfRange(abs, 2, abs.length));
        assertNull(SdNotify.sockaddr("relative"));
        assertNull(SdNotify.sockaddr("/" + "x".repeat(107)), "longer than sun_path");
    }

    @Test
    void datagramsReachAPathSocketAndAnAbstractOne() throws Exception {
        for (String name : new String[] {dir.resolve("notify").toString(), "@repl-test-" + ProcessHandle.current().pid()}) {
            try (NotifyListener l = new NotifyListener(name)) {
                SdNotify n = SdNotify.to(name);
                n.ready("1 resource up\nwith a newline");
                String ready = l.next(10);
                assertTrue(ready.startsWith("READY=1\nSTATUS=1 resource up with a newline\nMAINPID="), ready);
                n.stopping("bye");
                assertEquals("STOPPING=1\nSTATUS=bye", l.next(10));
            }
        }
    }

}
