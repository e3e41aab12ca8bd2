package io.repl.agent.control;

import java.util.Map;

/**
 * One command from replctl: {@code {"command":"up","resource":"r0","options":{"force":true}}}.
 *
 * @param resource null or "all" for every resource, where the command allows it
 */
public record ControlRequest(String command, String resource, Map<String, Object> options) {

    public boolean flag(String name) {
        return options != null && Boolean.TRUE.equals(options.get(name));
    }
}
