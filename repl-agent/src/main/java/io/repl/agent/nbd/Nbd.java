package io.repl.agent.nbd;

/** Numbers from the NBD protocol (fixed newstyle negotiation, simple replies). */
final class Nbd {
    static final long NBDMAGIC = 0x4e42444d41474943L;
    static final long IHAVEOPT = 0x49484156454F5054L;
    static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    static final int REQUEST_MAGIC = 0x25609513;
    static final int SIMPLE_REPLY_MAGIC = 0x67446698;

    static final int FLAG_FIXED_NEWSTYLE = 1;
    static final int FLAG_NO_ZEROES = 1 << 1;
    static final int FLAG_C_FIXED_NEWSTYLE = 1;
    static final int FLAG_C_NO_ZEROES = 1 << 1;

    static final int OPT_EXPORT_NAME = 1;
    static final int OPT_ABORT = 2;
    static final int OPT_LIST = 3;
    static final int OPT_STARTTLS = 5;
    static final int OPT_INFO = 6;
    static final int OPT_GO = 7;

    static final int REP_ACK = 1;
    static final int REP_SERVER = 2;
    static final int REP_INFO = 3;
    static final int REP_ERR_UNSUP = 0x80000001;
    static final int REP_ERR_POLICY = 0x80000002;
    static final int REP_ERR_INVALID = 0x80000003;
    static final int REP_ERR_UNKNOWN = 0x80000006;
    static final int REP_ERR_SHUTDOWN = 0x80000007;

    static final int INFO_EXPORT = 0;
    static final int INFO_NAME = 1;
    static final int INFO_DESCRIPTION = 2;
    static final int INFO_BLOCK_SIZE = 3;

    static final int TFLAG_HAS_FLAGS = 1;
    static final int TFLAG_READ_ONLY = 1 << 1;
    static final int TFLAG_SEND_FLUSH = 1 << 2;
    static final int TFLAG_SEND_FUA = 1 << 3;
    static final int TFLAG_SEND_TRIM = 1 << 5;
    static final int TFLAG_SEND_WRITE_ZEROES = 1 << 6;
    static final int TFLAG_CAN_MULTI_CONN = 1 << 8;
    static final int TFLAG_SEND_FAST_ZERO = 1 << 11;

    static final int CMD_READ = 0;
    static final int CMD_WRITE = 1;
    static final int CMD_DISC = 2;
    static final int CMD_FLUSH = 3;
    static final int CMD_TRIM = 4;
    static final int CMD_WRITE_ZEROES = 6;

    static final int CMD_FLAG_FUA = 1;
    static final int CMD_FLAG_NO_HOLE = 1 << 1;
    static final int CMD_FLAG_FAST_ZERO = 1 << 4;

    static final int EPERM = 1;
    static final int EIO = 5;
    static final int ENOMEM = 12;
    static final int EINVAL = 22;
    static final int ENOSPC = 28;
    static final int EOVERFLOW = 75;
    static final int ENOTSUP = 95;
    static final int ESHUTDOWN = 108;

    /** Request header: magic, flags, type, cookie, offset, length. */
    static final int REQUEST_HEADER_BYTES = 28;
    static final int REPLY_HEADER_BYTES = 16;
    /** The largest request payload and read length this server accepts (and advertises). */
    static final int MAX_PAYLOAD_BYTES = 32 << 20;
    /** Option data larger than this is not a real client: strings are at most 4 KiB. */
    static final int MAX_OPTION_BYTES = 64 << 10;

    private Nbd() {}

    static String commandName(int type) {
        switch (type) {
            case CMD_READ: return "READ";
            case CMD_WRITE: return "WRITE";
            case CMD_DISC: return "DISC";
            case CMD_FLUSH: return "FLUSH";
            case CMD_TRIM: return "TRIM";
            case CMD_WRITE_ZEROES: return "WRITE_ZEROES";
            default: return "command " + type;
        }
    }

    /** Maps an engine errno to the errors NBD defines; others become EIO. */
    static int wireError(int errno) {
        switch (Math.abs(errno)) {
            case 0: return 0;
            case EPERM: return EPERM;
            case ENOMEM: return ENOMEM;
            case EINVAL: return EINVAL;
            case ENOSPC: return ENOSPC;
            case 27: return ENOSPC;   // EFBIG, as the protocol asks
            case 122: return ENOSPC;  // EDQUOT, likewise
            case EOVERFLOW: return EOVERFLOW;
            case ENOTSUP: return ENOTSUP;
            case ESHUTDOWN: return ESHUTDOWN;
            default: return EIO;
        }
    }
}
