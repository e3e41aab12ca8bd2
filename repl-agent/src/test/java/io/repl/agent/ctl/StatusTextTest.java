package io.repl.agent.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.LocalTime;
import org.junit.jupiter.api.Test;

/** The text form of the failover fields, laid out like drbdadm status. */
class StatusTextTest {
    private final ObjectMapper json = new ObjectMapper();

    private String text(String resourceJson) throws Exception {
        JsonTree result = ClientJson.parse("{\"resources\":[" + resourceJson.replace('\'', '"') + "]}");
        StringWriter out = new StringWriter();
        try (PrintWriter w = new PrintWriter(out)) {
            StatusText.print(result, w);
        }
        return out.toString();
    }

    @Test
    void aSecondaryThatLostItsPrimarySaysWhyItsDiskIsConsistent() throws Exception {
        String t = text("{'name':'r0','role':'Secondary','disk':'Consistent','connection':'Connecting',"
                + "'replication':'Off','peer':{'name':'alpha','role':'Unknown','disk':'DUnknown'},'outOfSyncBytes':0,"
                + "'sync':null,'fencing':'outdate','quorum':{'peer':false,'witness':null},"
                + "'diskReason':'lost alpha (ping timeout) without a goodbye, at 12:51:36','suspended':null,"
                + "'mayLoseWrites':false,'nbd':null,'clients':0}");
        assertEquals(String.join("\n",
                "r0 role:Secondary",
                "  disk:Consistent (lost alpha (ping timeout) without a goodbye, at 12:51:36)",
                "  quorum: peer no, no witness, fencing:outdate",
                "  alpha connection:Connecting role:Unknown",
                "    replication:Off peer-disk:DUnknown",
                ""), t);
    }

    @Test
    void aPrimaryHoldingWritesShowsSinceWhenAndWhatTheWitnessSaid() throws Exception {
        String t = text("{'name':'r0','role':'Primary','disk':'UpToDate','connection':'Connecting',"
                + "'replication':'Off','peer':{'name':'beta','role':'Unknown','disk':'DUnknown'},"
                + "'outOfSyncBytes':8192,'sync':null,'fencing':'outdate','quorum':{'peer':false,'witness':{"
                + "'address':'10.0.0.3:7790','reachable':true,'lastAnswer':'outdate-peer unknown-generation',"
                + "'generation':'0123456789ABCDEF','holders':['alpha','beta'],'forced':false}},"
                + "'diskReason':null,'suspended':{'reason':'lost beta (connection reset); asking the witness',"
                + "'since':'2026-12-01T12:51:40'},'mayLoseWrites':false,'nbd':'nbd+unix:///r0?socket=/s',"
                + "'clients':1,'sizeBytes':4096,'ioEngine':'io_uring'}");
        assertEquals(String.join("\n",
                "r0 role:Primary",
                "  disk:UpToDate size:4096 io-engine:io_uring",
                "  writes held since 12:51:40: lost beta (connection reset); asking the witness",
                "  quorum: peer no, witness reachable at 10.0.0.3:7790 (outdate-peer unknown-generation; record "
                        + "0123456789ABCDEF held by alpha and beta)",
                "  beta connection:Connecting role:Unknown",
                "    replication:Off peer-disk:DUnknown out-of-sync:8192",
                "  nbd:nbd+unix:///r0?socket=/s clients:1",
                ""), t);
    }

    @Test
    void dontCareWritingAloneWarnsThatAFailoverLosesWrites() throws Exception {
        String t = text("{'name':'r0','role':'Primary','disk':'UpToDate','connection':'Connecting',"
                + "'replication':'Off','peer':{'name':'beta','role':'Unknown','disk':'DUnknown'},'outOfSyncBytes':0,"
                + "'fencing':'dont-care','quorum':{'peer':false,'witness':{'address':'w:1','reachable':false,"
                + "'lastAnswer':null,'generation':null,'holders':[],'forced':false}},'mayLoseWrites':true}");
        assertEquals(String.join("\n",
                "r0 role:Primary",
                "  disk:UpToDate",
                "  writing alone without fencing (dont-care): a failover to beta would lose these writes",
                "  quorum: peer no, witness unreachable at w:1",
                "  beta connection:Connecting role:Unknown",
                "    replication:Off peer-disk:DUnknown",
                ""), t);
    }

    private static final String SYNC_TARGET = "{'name':'r0','role':'Secondary','disk':'Inconsistent',"
            + "'connection':'Connected','replication':'SyncTarget','peer':{'name':'alpha','role':'Primary',"
            + "'disk':'UpToDate'},'outOfSyncBytes':141557760,'sync':{'percent':47.3,'bytesPerSecond':13107200,"
            + "'etaSeconds':10,'totalBytes':268435456,'leftBytes':141557760,'controllerBytesPerSecond':16777216,"
            + "'inFlightBytes':2097152}}";

    @Test
    void aSyncTargetShowsItsProgressTheMeasuredRateTheControllersRateAndWhatIsInFlight() throws Exception {
        assertEquals(String.join("\n",
                "r0 role:Secondary",
                "  disk:Inconsistent",
                "  alpha connection:Connected role:Primary",
                "    replication:SyncTarget peer-disk:UpToDate out-of-sync:141557760",
                "        done:47.3% rate:12.5MiB/s controller:16MiB/s in-flight:2MiB eta:0:10",
                ""), text(SYNC_TARGET));
    }

    @Test
    void theSourceHasNoControllerAndAnUnknownEtaIsAQuestionMark() throws Exception {
        String t = text("{'name':'r0','role':'Primary','disk':'UpToDate','connection':'Connected',"
                + "'replication':'SyncSource','peer':{'name':'beta','role':'Secondary','disk':'Inconsistent'},"
                + "'outOfSyncBytes':4096,'sync':{'percent':0.0,'bytesPerSecond':0,'etaSeconds':null,"
                + "'totalBytes':4096,'leftBytes':4096,'controllerBytesPerSecond':null,'inFlightBytes':null}}");
        assertTrue(t.contains("        done:0.0% rate:0B/s eta:?\n"), t);
    }

    @Test
    void watchFramesDrawABarAndReplaceEachOtherOnATerminal() throws Exception {
        JsonTree result = ClientJson.parse("{\"resources\":[" + SYNC_TARGET.replace('\'', '"') + "]}");
        StatusWatch onTerminal = new StatusWatch(Path.of("/nonexistent"), "r0", false, true, null, null);
        String frame = onTerminal.frame(result, LocalTime.of(12, 51, 40));
        assertTrue(frame.startsWith("\033[H\033[2JEvery 1s: replctl status r0    12:51:40\n\n"), frame);
        assertTrue(frame.contains("        done:47.3% rate:12.5MiB/s controller:16MiB/s in-flight:2MiB eta:0:10\n"
                + "        [##################>.....................]\n"), frame);
        String piped = new StatusWatch(Path.of("/nonexistent"), null, false, false, null, null)
                .frame(result, LocalTime.of(12, 51, 41));
        assertTrue(piped.startsWith("\nEvery 1s: replctl status    12:51:41\n"), "no escape codes into a pipe: " + piped);
        String line = new StatusWatch(Path.of("/nonexistent"), "r0", true, false, null, null)
                .frame(result, LocalTime.of(12, 51, 42));
        assertEquals(1, line.chars().filter(c -> c == '\n').count(), "one JSON line a frame: " + line);
        assertEquals(47.3, json.readTree(line).path("resources").path(0).path("sync").path("percent").asDouble());
    }

    @Test
    void theBarAndTheUnitsAtTheirEdges() {
        assertEquals("[>" + ".".repeat(39) + "]", StatusText.bar(0));
        assertEquals("[" + "#".repeat(40) + "]", StatusText.bar(100));
        assertEquals("[" + "#".repeat(20) + ">" + ".".repeat(19) + "]", StatusText.bar(50));
        assertEquals("512B", StatusText.size(512));
        assertEquals("1.5MiB", StatusText.size(3L << 19));
        assertEquals("4GiB", StatusText.size(4L << 30));
        assertEquals("1:01:05", StatusText.duration(3665));
    }

    @Test
    void aStandaloneResourceShowsNoQuorumLine() throws Exception {
        String t = text("{'name':'d1','role':'Primary','disk':'UpToDate','connection':'StandAlone',"
                + "'replication':'Off','peer':null,'fencing':'outdate','quorum':null,'diskReason':null,"
                + "'suspended':null,'mayLoseWrites':false,'standalone':true}");
        assertEquals("d1 role:Primary\n  disk:UpToDate\n  connection:StandAlone (no peer configured)\n", t);
    }

    /** on-congestion pull-ahead: the Primary shows Ahead and what it owes; its peer Behind and why it is Outdated. */
    @Test
    void anAheadPrimaryAndItsBehindPeerSayWhereTheyStand() throws Exception {
        String ahead = text("{'name':'r0','role':'Primary','disk':'UpToDate','connection':'Connected',"
                + "'replication':'Ahead','peer':{'name':'beta','role':'Secondary','disk':'Outdated'},"
                + "'outOfSyncBytes':1048576}");
        assertTrue(ahead.contains("\n    replication:Ahead peer-disk:Outdated out-of-sync:1048576\n"), ahead);
        String behind = text("{'name':'r0','role':'Secondary','disk':'Outdated','connection':'Connected',"
                + "'replication':'Behind','peer':{'name':'alpha','role':'Primary','disk':'UpToDate'},"
                + "'outOfSyncBytes':4096,'diskReason':'behind alpha, which pulled ahead while its link to this node"
                + " was congested; a resync follows once the link drains, at 12:51:36'}");
        assertTrue(behind.contains("\n  disk:Outdated (behind alpha, which pulled ahead while its link to this node"
                + " was congested; a resync follows once the link drains, at 12:51:36)\n"), behind);
        assertTrue(behind.contains("\n    replication:Behind peer-disk:UpToDate out-of-sync:4096\n"), behind);
    }

    @Test
    void clockTimeKeepsSecondsAndPassesOddTextThrough() {
        assertEquals("12:51:00", StatusText.clockTime("2026-12-01T12:51:00"));
        assertEquals("yesterday", StatusText.clockTime("yesterday"));
    }
}
