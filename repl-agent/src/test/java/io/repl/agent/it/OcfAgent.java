package io.repl.agent.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The OCF resource agent fs-hooks/ocf/repl for resource r0 of one {@link AgentProcess}, run as
 * Pacemaker's executor runs it (OCF_RESKEY_* parameters, __OCF_ACTION), with a recording
 * {@code crm_attribute} first on PATH: it keeps the promotion score it was given in a file,
 * so a test reads the score an action set without a cluster.
 */
final class OcfAgent {
    static final Path RA = AgentProcess.ROOT.resolve("fs-hooks/ocf/repl");
    static final int SUCCESS = 0;
    static final int ERR_GENERIC = 1;
    static final int NOT_RUNNING = 7;
    static final int RUNNING_PROMOTED = 8;
    static final int FAILED_PROMOTED = 9;

    final AgentProcess agent;
    final Path shimDir;
    final Path scoreFile;
    final Path rscTmp;
    /** The use_replctl parameter: bin/replctl instead of python3 on the control socket. */
    private final boolean useReplctl;

    OcfAgent(AgentProcess agent) throws IOException {
        this(agent, false);
    }

    OcfAgent(AgentProcess agent, boolean useReplctl) throws IOException {
        this.agent = agent;
        this.useReplctl = useReplctl;
        Path base = Files.createDirectories(agent.dir.resolve("ocf-" + agent.node));
        this.shimDir = Files.createDirectories(base.resolve("bin"));
        this.rscTmp = Files.createDirectories(base.resolve("rsctmp"));
        this.scoreFile = base.resolve("promotion-score");
        Path shim = shimDir.resolve("crm_attribute");
        // As crm_attribute --promotion: -v SCORE sets, -D deletes; the calls are logged.
        Files.writeString(shim, String.join("\n",
                "#!/bin/sh",
                "case \"$*\" in *--help*) echo '  -p, --promotion=RESOURCE   promotion score'; exit 0 ;; esac",
                "echo \"$*\" >> " + base.resolve("crm_attribute.log"),
                "while [ $# -gt 0 ]; do",
                "  case \"$1\" in",
                "  -v) printf '%s' \"$2\" > " + scoreFile + "; shift ;;",
                "  -D) rm -f " + scoreFile + " ;;",
                "  esac; shift",
                "done",
                ""));
        if (!shim.toFile().setExecutable(true, false)) {
            throw new IOException("cannot make " + shim + " executable");
        }
    }

    /** The environment the resource agent runs in: its parameters and the shim on PATH. */
    Map<String, String> env() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", shimDir + ":" + System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        env.put("OCF_ROOT", "/usr/lib/ocf");
        env.put("OCF_RESOURCE_INSTANCE", "repl_r0");
        env.put("HA_RSCTMP", rscTmp.toString());
        env.putAll(params());
        return env;
    }

    /** The resource's parameters, as OCF_RESKEY_ variables. */
    Map<String, String> params() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("OCF_RESKEY_resource", "r0");
        p.put("OCF_RESKEY_config_dir", agent.configDir.toString());
        p.put("OCF_RESKEY_node", agent.node);
        p.put("OCF_RESKEY_control_socket", agent.controlSocket.toString());
        p.put("OCF_RESKEY_bindir", AgentProcess.ROOT.resolve("bin").toString());
        p.put("OCF_RESKEY_run_dir", agent.runDir().toString());
        p.put("OCF_RESKEY_agent_log", agent.log.toString());
        p.put("OCF_RESKEY_agent_options", "--state-dir " + agent.dir.resolve("state-" + agent.node));
        p.put("OCF_RESKEY_use_replctl", Boolean.toString(useReplctl));
        return p;
    }

    /** Runs one action (a monitor as a recurring one, interval 20 s). */
    Cmd.Result run(String action) throws IOException, InterruptedException {
        Map<String, String> env = env();
        env.put("__OCF_ACTION", action);
        env.put("OCF_RESKEY_CRM_meta_interval", "20000");
        env.put("OCF_RESKEY_CRM_meta_timeout", "90000");
        return Cmd.run(env, 120, RA.toString(), action);
    }

    int exit(String action) throws IOException, InterruptedException {
        return run(action).exit();
    }

    /** The promotion score the last actions left, null when deleted or never set. */
    String score() throws IOException {
        return Files.exists(scoreFile) ? Files.readString(scoreFile) : null;
    }
}
