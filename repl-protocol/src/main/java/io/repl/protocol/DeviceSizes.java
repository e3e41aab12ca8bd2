package io.repl.protocol;

/**
 * SIZES: the sender's device geometry. A diskless node reports size 0.
 *
 * @param deviceBytes usable size, a multiple of {@code logicalBlockBytes}, at most 1 EiB
 * @param requestBytesMax the largest request the sender accepts, a multiple of 512 in 512..32 MiB
 * @param logicalBlockBytes 512, 1024, 2048 or 4096
 */
public record DeviceSizes(long deviceBytes, int requestBytesMax, int logicalBlockBytes) implements Message {
    public static final int BODY_BYTES = 8 + 4 + 4;
    static final int LOGICAL_BLOCK_BYTES_MAX = 4096;

    public DeviceSizes {
        Check.range("SIZES.logicalBlockBytes", logicalBlockBytes, Limits.SECTOR_BYTES, LOGICAL_BLOCK_BYTES_MAX);
        if (Integer.bitCount(logicalBlockBytes) != 1) {
            throw new ProtocolException("SIZES.logicalBlockBytes", logicalBlockBytes + " is not a power of two");
        }
        Check.range("SIZES.deviceBytes", deviceBytes, 0, Limits.DEVICE_BYTES_MAX);
        Check.aligned("SIZES.deviceBytes", deviceBytes, logicalBlockBytes);
        Check.range("SIZES.requestBytesMax", requestBytesMax, Limits.SECTOR_BYTES, Limits.BLOCK_BYTES_MAX);
        Check.aligned("SIZES.requestBytesMax", requestBytesMax, Limits.SECTOR_BYTES);
    }

    @Override
    public MessageType type() {
        return MessageType.SIZES;
    }

    @Override
    public void encode(BodyWriter body) {
        body.u64(deviceBytes);
        body.u32(requestBytesMax);
        body.u32(logicalBlockBytes);
    }

    static DeviceSizes decode(BodyReader r) {
        long device = r.u64("deviceBytes");
        long request = r.u32("requestBytesMax");
        long logical = r.u32("logicalBlockBytes");
        r.end();
        Check.range(r.field("requestBytesMax"), request, Limits.SECTOR_BYTES, Limits.BLOCK_BYTES_MAX);
        Check.range(r.field("logicalBlockBytes"), logical, Limits.SECTOR_BYTES, LOGICAL_BLOCK_BYTES_MAX);
        return new DeviceSizes(device, (int) request, (int) logical);
    }
}
