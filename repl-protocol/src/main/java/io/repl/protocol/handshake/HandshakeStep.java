package io.repl.protocol.handshake;

import io.repl.protocol.Message;
import java.util.List;

/**
 * What the driver must do after one handshake input: send {@code toSend} in order, then, if the
 * handshake ended, act on the result or the failure (exactly one of them is non-null when it
 * ended, both are null while it goes on).
 *
 * @param toSend messages to send now, in order
 * @param result set when the handshake succeeded with this input
 * @param failure set when the handshake failed with this input
 */
public record HandshakeStep(List<Message> toSend, HandshakeResult result, HandshakeFailure failure) {

    public HandshakeStep {
        toSend = List.copyOf(toSend);
        if (result != null && failure != null) {
            throw new IllegalArgumentException("a step cannot both succeed and fail");
        }
    }

    public boolean succeeded() {
        return result != null;
    }

    public boolean failed() {
        return failure != null;
    }

    /** True while the handshake needs more messages. */
    public boolean pending() {
        return result == null && failure == null;
    }
}
