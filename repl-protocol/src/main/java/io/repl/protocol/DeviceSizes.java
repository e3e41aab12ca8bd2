package io.repl.protocol;

/**
 * SIZES: the sender's device geometry, and the two steps of an online resize. A diskless node
 * reports size 0.
 *
 * <p>Without flags it opens a handshake (or a renegotiation). With {@link #RESIZE_REQUEST} the
 * initiator of {@code resize} asks for {@code deviceBytes} (0: as large as both disks allow);
 * the peer answers {@link #RESIZE_DONE} with the size both now have, or {@link #RESIZE_REFUSED}
 * with its unchanged size. Each side's {@code capacityBytes} lets the other compute the same
 * new size.
 *
 * @param deviceBytes usable size, a multiple of {@code logicalBlockBytes}, at most 1 EiB
 * @param requestBytesMax the largest request the sender accepts, a multiple of 512 in 512..32 MiB
 * @param logicalBlockBytes 512, 1024, 2048 or 4096
 * @param capacityBytes the largest usable size the sender's disk offers now (0: unknown)
 * @param flags {@link #KNOWN_FLAGS}
 */
public record DeviceSizes(long deviceBytes, int requestBytesMax, int logicalBlockBytes, long capacityBytes,
                          int flags) implements Message {
    public static final int BODY_BYTES = 8 + 4 + 4 + 8 + 4 + 4;
    static final int LOGICAL_BLOCK_BYTES_MAX = 4096;
    /** The sender asks for an online resize to {@code deviceBytes} (0: the largest both allow). */
    public static final int RESIZE_REQUEST = 1;
    /** Answer: the sender resized to {@code deviceBytes}. */
    public static final int RESIZE_DONE = 1 << 1;
    /** Answer: the sender refused the resize and keeps {@code deviceBytes}. */
    public static final int RESIZE_REFUSED = 1 << 2;
    /** With a request: the new area holds the same bytes on both disks; nothing to sync there. */
    public static final int ASSUME_CLEAN = 1 << 3;
    /** With a request: a smaller size is allowed (the data past it is dropped). */
    public static final int FORCE = 1 << 4;
    public static final int KNOWN_FLAGS = RESIZE_REQUEST | RESIZE_DONE | RESIZE_REFUSED | ASSUME_CLEAN | FORCE;

    public DeviceSizes {
        Check.range("SIZES.logicalBlockBytes", logicalBlockBytes, Limits.SECTOR_BYTES, LOGICAL_BLOCK_BYTES_MAX);
        if (Integer.bitCount(logicalBlockBytes) != 1) {
            throw new ProtocolException("SIZES.logicalBlockBytes", logicalBlockBytes + " is not a power of two");
        }
        Check.range("SIZES.deviceBytes", deviceBytes, 0, Limits.DEVICE_BYTES_MAX);
        Check.aligned("SIZES.deviceBytes", deviceBytes, logicalBlockBytes);
        Check.range("SIZES.requestBytesMax", requestBytesMax, Limits.SECTOR_BYTES, Limits.BLOCK_BYTES_MAX);
        Check.aligned("SIZES.requestBytesMax", requestBytesMax, Limits.SECTOR_BYTES);
        Check.range("SIZES.capacityBytes", capacityBytes, 0, Limits.DEVICE_BYTES_MAX);
        Check.aligned("SIZES.capacityBytes", capacityBytes, logicalBlockBytes);
        Check.knownFlags("SIZES.flags", flags & 0xFFFF_FFFFL, KNOWN_FLAGS);
        if (Integer.bitCount(flags & (RESIZE_REQUEST | RESIZE_DONE | RESIZE_REFUSED)) > 1) {
            throw new ProtocolException("SIZES.flags", "a request, a done and a refusal exclude each other");
        }
        if ((flags & (ASSUME_CLEAN | FORCE)) != 0 && (flags & RESIZE_REQUEST) == 0) {
            throw new ProtocolException("SIZES.flags", "assume-clean and force belong to a resize request");
        }
    }

    /** Plain SIZES, as at the start of a handshake. */
    public DeviceSizes(long deviceBytes, int requestBytesMax, int logicalBlockBytes) {
        this(deviceBytes, requestBytesMax, logicalBlockBytes, 0, 0);
    }

    public boolean has(int flag) {
        return (flags & flag) == flag;
    }

    /** Whether this is a step of an online resize rather than the start of a handshake. */
    public boolean resizeStep() {
        return (flags & (RESIZE_REQUEST | RESIZE_DONE | RESIZE_REFUSED)) != 0;
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
        body.u64(capacityBytes);
        body.u32(flags);
        body.u32(0);
    }

    static DeviceSizes decode(BodyReader r) {
        long device = r.u64("deviceBytes");
        long request = r.u32("requestBytesMax");
        long logical = r.u32("logicalBlockBytes");
        long capacity = r.u64("capacityBytes");
        long flags = r.u32("flags");
        r.reserved("reserved", 4);
        r.end();
        Check.range(r.field("requestBytesMax"), request, Limits.SECTOR_BYTES, Limits.BLOCK_BYTES_MAX);
        Check.range(r.field("logicalBlockBytes"), logical, Limits.SECTOR_BYTES, LOGICAL_BLOCK_BYTES_MAX);
        Check.knownFlags(r.field("flags"), flags, KNOWN_FLAGS);
        return new DeviceSizes(device, (int) request, (int) logical, capacity, (int) flags);
    }
}
