package io.repl.agent.witness;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.repl.protocol.Disconnect;
import io.repl.protocol.DisconnectReason;
import java.util.concurrent.TimeUnit;

/** Ends a connection with DISCONNECT, the same way on the witness and on the node. */
final class Disconnects {
    private Disconnects() {
    }

    /**
     * Sends DISCONNECT with {@code reason}, then closes. The DISCONNECT waits behind whatever is
     * queued, so a peer that stopped reading gets {@code graceMs} before we close anyway.
     */
    static void send(Channel channel, DisconnectReason reason, String detail, long graceMs) {
        if (!channel.isActive()) {
            channel.close();
            return;
        }
        channel.writeAndFlush(Disconnect.fitting(reason, detail)).addListener(ChannelFutureListener.CLOSE);
        channel.eventLoop().schedule(() -> channel.close(), graceMs, TimeUnit.MILLISECONDS);
    }
}
