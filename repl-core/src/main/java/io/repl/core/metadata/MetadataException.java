package io.repl.core.metadata;

/**
 * Metadata read from the device is unusable: a bad checksum on every copy, a field outside what
 * this format allows, a geometry that does not match the volume. The message names the block and
 * the field and says what was expected, so an operator can act on it.
 *
 * <p>This is an operating error (the disk holds something we did not write, or something another
 * version wrote), never a programmer error: those throw unchecked exceptions.
 */
public final class MetadataException extends Exception {

    private static final long serialVersionUID = 1L;

    public MetadataException(String message) {
        super(message);
    }
}
