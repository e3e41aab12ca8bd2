package io.repl.agent.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** The text form of the failover fields, laid out like drbdadm status. */
class StatusTextTest {
    private final ObjectMapper json = new ObjectMapper();

    private String text(String resourceJson) throws Exception {
        JsonNode result = json.readTree("{\"resources\":[" + resourceJson.replace('\'', '"') + "]}");
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
